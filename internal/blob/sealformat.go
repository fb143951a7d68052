package blob

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A sealed document is a header (magic, version, key id, a random nonce)
// then the document in segments of sealSegment bytes (the last shorter),
// each sealed with AES-256-GCM under a key derived from the document key
// and the nonce. Segments let a download decrypt as it streams; each
// segment's GCM nonce is its number and whether it is the last, so that
// segments cannot be reordered, dropped or cut off unnoticed. The header
// and the object key are bound into every segment, so a document copied
// under another key fails to open. The magic's first byte, 0x89, cannot
// start a PDF, a TIFF or UTF-8 text, so a document stored before a key was
// set is told apart by its first bytes alone.
const (
	sealMagic     = "\x89FXG"
	sealVersion   = 1
	sealKeyIDLen  = 4
	sealNonceLen  = 24
	sealHeaderLen = len(sealMagic) + 1 + sealKeyIDLen + sealNonceLen
	sealSegment   = 64 << 10
	sealTagLen    = 16
	sealInfo      = "faxgate document v1"
)

// Errors a sealed document can give on reading, wrapped with the
// document's object key; none carries key material.
var (
	// ErrNoDocumentKey is a sealed document read without FAXGATE_DOCUMENT_KEY.
	ErrNoDocumentKey = errors.New("it is encrypted but FAXGATE_DOCUMENT_KEY is not set")
	// ErrWrongDocumentKey is a sealed document whose key is not among the
	// configured ones (a wrong key, or one removed from the rotation list).
	ErrWrongDocumentKey = errors.New("it is encrypted with a key FAXGATE_DOCUMENT_KEY does not hold (a wrong key, or one removed from the list too soon)")
	// ErrDocumentTampered is a sealed document that fails authentication:
	// altered, truncated, or copied from another object key.
	ErrDocumentTampered = errors.New("it is encrypted and failed authentication (altered, truncated or moved from another key)")
)

// sealKey is one document key: its id (a hash prefix, safe to show) and
// the key itself, from which each document's key is derived.
type sealKey struct {
	id     [sealKeyIDLen]byte
	secret []byte
}

// keyID names a key without revealing it: a hash prefix under a label of
// its own, so that it is no hash an attacker could use elsewhere.
func keyID(raw []byte) [sealKeyIDLen]byte {
	h := sha256.New()
	h.Write([]byte("faxgate document key id\x00"))
	h.Write(raw)
	var id [sealKeyIDLen]byte
	copy(id[:], h.Sum(nil))
	return id
}

// documentAEAD returns the cipher of one document: a fresh key per
// document, so that GCM's nonces (segment numbers) never repeat under a key.
func documentAEAD(k sealKey, nonce []byte) (cipher.AEAD, error) {
	dk, err := hkdf.Key(sha256.New, k.secret, nonce, sealInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(dk)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// segmentNonce is segment i's GCM nonce: its number, then 1 for the last.
func segmentNonce(n *[12]byte, i uint64, last bool) []byte {
	binary.BigEndian.PutUint64(n[3:11], i)
	n[11] = 0
	if last {
		n[11] = 1
	}
	return n[:]
}

// associatedData binds the header and the object key into every segment.
func associatedData(head []byte, key string) []byte {
	ad := make([]byte, 0, len(head)+len(key))
	ad = append(ad, head...)
	return append(ad, key...)
}

// seal returns b sealed with k under the object key.
func seal(k sealKey, key string, b []byte) ([]byte, error) {
	segments := max(1, (len(b)+sealSegment-1)/sealSegment)
	out := make([]byte, sealHeaderLen, sealHeaderLen+len(b)+segments*sealTagLen)
	copy(out, sealMagic)
	out[len(sealMagic)] = sealVersion
	copy(out[len(sealMagic)+1:], k.id[:])
	if _, err := rand.Read(out[sealHeaderLen-sealNonceLen : sealHeaderLen]); err != nil {
		return nil, fmt.Errorf("blob: seal: %w", err)
	}
	aead, err := documentAEAD(k, out[sealHeaderLen-sealNonceLen:sealHeaderLen])
	if err != nil {
		return nil, fmt.Errorf("blob: seal: %w", err)
	}
	ad := associatedData(out, key)
	var n [12]byte
	for i := 0; ; i++ {
		seg := b[i*sealSegment : min((i+1)*sealSegment, len(b))]
		last := i == segments-1
		out = aead.Seal(out, segmentNonce(&n, uint64(i), last), seg, ad)
		if last {
			return out, nil
		}
	}
}

// isSealed reports whether b starts like a sealed document.
func isSealed(b []byte) bool { return bytes.HasPrefix(b, []byte(sealMagic)) }

// sealedWith returns the id of the key that sealed b, if b is sealed in a
// known version.
func sealedWith(b []byte) ([sealKeyIDLen]byte, bool) {
	var id [sealKeyIDLen]byte
	if len(b) < sealHeaderLen || !isSealed(b) || b[len(sealMagic)] != sealVersion {
		return id, false
	}
	copy(id[:], b[len(sealMagic)+1:])
	return id, true
}

// plainSize returns the size of the document whose sealed body (after the
// header) is n bytes, or false for a size no sealing produces.
func plainSize(n int64) (int64, bool) {
	const full = sealSegment + sealTagLen
	if n < sealTagLen {
		return 0, false
	}
	segs, rest := n/full, n%full
	switch {
	case rest == 0:
		return segs * sealSegment, true
	case rest < sealTagLen:
		return 0, false
	}
	return segs*sealSegment + rest - sealTagLen, true
}

// unsealer opens one sealed document as it is read.
type unsealer struct {
	key    string
	src    io.Reader
	closer io.Closer
	aead   cipher.AEAD
	ad     []byte
	left   int64 // sealed bytes not yet read
	i      uint64
	buf    []byte
	pt     []byte // opened bytes not yet returned
	err    error
}

// newUnsealer checks the header (already read into head) against keys and
// returns a reader of the document and its size. The first segment is
// opened at once, so that a small document's tampering is an error here,
// before a caller has answered anything.
func newUnsealer(keys []sealKey, key string, head []byte, src io.Reader, closer io.Closer, sealedSize int64) (*unsealer, int64, error) {
	if len(head) < sealHeaderLen {
		return nil, 0, fmt.Errorf("blob: document %q: %w", key, ErrDocumentTampered)
	}
	if v := head[len(sealMagic)]; v != sealVersion {
		return nil, 0, fmt.Errorf("blob: document %q is encrypted in format version %d, which this faxgate does not read", key, v)
	}
	if len(keys) == 0 {
		return nil, 0, fmt.Errorf("blob: document %q: %w", key, ErrNoDocumentKey)
	}
	id, _ := sealedWith(head)
	var k *sealKey
	for i := range keys {
		if keys[i].id == id {
			k = &keys[i]
		}
	}
	if k == nil {
		return nil, 0, fmt.Errorf("blob: document %q (key id %x): %w", key, id, ErrWrongDocumentKey)
	}
	size, ok := plainSize(sealedSize - int64(sealHeaderLen))
	if !ok {
		return nil, 0, fmt.Errorf("blob: document %q: %w", key, ErrDocumentTampered)
	}
	aead, err := documentAEAD(*k, head[sealHeaderLen-sealNonceLen:sealHeaderLen])
	if err != nil {
		return nil, 0, fmt.Errorf("blob: open: %w", err)
	}
	u := &unsealer{
		key: key, src: src, closer: closer, aead: aead, ad: associatedData(head[:sealHeaderLen], key),
		left: sealedSize - int64(sealHeaderLen), buf: make([]byte, min(sealedSize-int64(sealHeaderLen), sealSegment+sealTagLen)),
	}
	u.next()
	if u.err != nil && u.err != io.EOF {
		return nil, 0, u.err
	}
	return u, size, nil
}

// next opens the next segment into u.pt, or sets u.err.
func (u *unsealer) next() {
	if u.left == 0 {
		u.err = io.EOF
		return
	}
	n := min(u.left, sealSegment+sealTagLen)
	if _, err := io.ReadFull(u.src, u.buf[:n]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = ErrDocumentTampered
		}
		u.err = fmt.Errorf("blob: document %q: %w", u.key, err)
		return
	}
	var nonce [12]byte
	pt, err := u.aead.Open(u.buf[:0], segmentNonce(&nonce, u.i, n == u.left), u.buf[:n], u.ad)
	if err != nil {
		u.err = fmt.Errorf("blob: document %q: %w", u.key, ErrDocumentTampered)
		return
	}
	u.pt, u.left, u.i = pt, u.left-n, u.i+1
}

func (u *unsealer) Read(p []byte) (int, error) {
	for len(u.pt) == 0 {
		if u.err != nil {
			return 0, u.err
		}
		u.next()
	}
	n := copy(p, u.pt)
	u.pt = u.pt[n:]
	return n, nil
}

func (u *unsealer) Close() error {
	if u.closer == nil {
		return nil
	}
	return u.closer.Close()
}
