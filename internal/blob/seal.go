package blob

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// A sealed document is magic, version, key id, nonce, then the AES-256-GCM
// ciphertext with its tag. The magic's first byte, 0x89, cannot start a PDF,
// a TIFF or UTF-8 text, so a document stored before a key was set is told
// apart from a sealed one by its first bytes alone.
const (
	sealMagic    = "\x89FXG"
	sealVersion  = 1
	sealKeyIDLen = 4
	sealNonceLen = 12
	// sealHeaderLen is magic, version, key id and nonce.
	sealHeaderLen = len(sealMagic) + 1 + sealKeyIDLen + sealNonceLen
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
// its cipher.
type sealKey struct {
	id   [sealKeyIDLen]byte
	aead cipher.AEAD
}

// Sealed encrypts every document it stores with the first of its keys and
// reads documents sealed with any of them, around any Store: the local
// directory and S3 share one implementation. Without keys it stores in
// clear, and still refuses to return a sealed document as if it were
// plain. Documents stored in clear read as they are.
type Sealed struct {
	inner Store
	keys  []sealKey
}

// NewSealed wraps inner. keys are FAXGATE_DOCUMENT_KEY's values: standard
// base64 of 32 bytes each, the first encrypting, all decrypting.
func NewSealed(inner Store, keys []string) (*Sealed, error) {
	s := &Sealed{inner: inner}
	for i, k := range keys {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k))
		if err != nil || len(raw) != 32 {
			// The value itself is never echoed: it is a secret.
			return nil, fmt.Errorf("blob: FAXGATE_DOCUMENT_KEY: key %d of %d is not base64 of 32 bytes (make one with: head -c 32 /dev/urandom | base64)", i+1, len(keys))
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("blob: FAXGATE_DOCUMENT_KEY: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("blob: FAXGATE_DOCUMENT_KEY: %w", err)
		}
		sk := sealKey{id: keyID(raw), aead: aead}
		for _, o := range s.keys {
			if o.id == sk.id {
				return nil, fmt.Errorf("blob: FAXGATE_DOCUMENT_KEY: key %d repeats an earlier key", i+1)
			}
		}
		s.keys = append(s.keys, sk)
	}
	return s, nil
}

// OpenSealed is Open (FAXGATE_BLOB_URL) with the store wrapped in Sealed.
func OpenSealed(ctx context.Context, rawURL, localDir string, keys []string) (Store, error) {
	inner, err := Open(ctx, rawURL, localDir)
	if err != nil {
		return nil, err
	}
	s, err := NewSealed(inner, keys)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// AsDir returns the local directory store under s, if there is one, for
// the tasks only a directory has (the crash sweep).
func AsDir(s Store) (*Dir, bool) {
	if sl, ok := s.(*Sealed); ok {
		s = sl.inner
	}
	d, ok := s.(*Dir)
	return d, ok
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

// seal returns b encrypted with the first key, bound to the object key so
// that a sealed document copied under another key fails to open.
func (s *Sealed) seal(key string, b []byte) ([]byte, error) {
	k := s.keys[0]
	out := make([]byte, sealHeaderLen, sealHeaderLen+len(b)+k.aead.Overhead())
	copy(out, sealMagic)
	out[len(sealMagic)] = sealVersion
	copy(out[len(sealMagic)+1:], k.id[:])
	nonce := out[sealHeaderLen-sealNonceLen : sealHeaderLen]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("blob: seal: %w", err)
	}
	return k.aead.Seal(out, nonce, b, associatedData(out[:sealHeaderLen-sealNonceLen], key)), nil
}

// associatedData binds the header (format, version, key id) and the object
// key into the tag.
func associatedData(head []byte, key string) []byte {
	ad := make([]byte, 0, len(head)+len(key))
	ad = append(ad, head...)
	return append(ad, key...)
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

// open returns the plaintext of b stored under key: b itself when it is not
// sealed, and a clear error, never garbage, when it cannot be opened.
func (s *Sealed) open(key string, b []byte) ([]byte, error) {
	if !isSealed(b) {
		return b, nil
	}
	if len(b) < sealHeaderLen {
		return nil, fmt.Errorf("blob: document %q: %w", key, ErrDocumentTampered)
	}
	if v := b[len(sealMagic)]; v != sealVersion {
		return nil, fmt.Errorf("blob: document %q is encrypted in format version %d, which this faxgate does not read", key, v)
	}
	if len(s.keys) == 0 {
		return nil, fmt.Errorf("blob: document %q: %w", key, ErrNoDocumentKey)
	}
	id, _ := sealedWith(b)
	for _, k := range s.keys {
		if k.id != id {
			continue
		}
		head := b[:sealHeaderLen-sealNonceLen]
		nonce := b[sealHeaderLen-sealNonceLen : sealHeaderLen]
		pt, err := k.aead.Open(nil, nonce, b[sealHeaderLen:], associatedData(head, key))
		if err != nil {
			return nil, fmt.Errorf("blob: document %q: %w", key, ErrDocumentTampered)
		}
		return pt, nil
	}
	return nil, fmt.Errorf("blob: document %q (key id %s): %w", key, hex.EncodeToString(id[:]), ErrWrongDocumentKey)
}

// Put stores b under key, sealed when a key is set. The Info describes the
// document itself (its size and SHA-256), whatever is on disk.
func (s *Sealed) Put(ctx context.Context, key string, b []byte) (Info, error) {
	if len(s.keys) == 0 {
		return s.inner.Put(ctx, key, b)
	}
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	sealed, err := s.seal(key, b)
	if err != nil {
		return Info{}, err
	}
	if _, err := s.inner.Put(ctx, key, sealed); err != nil {
		return Info{}, err
	}
	sum := sha256.Sum256(b)
	return Info{Key: key, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// Get returns the document under key, opened.
func (s *Sealed) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.inner.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return s.open(key, b)
}

// Open returns a reader of the document under key and its size. A document
// in clear streams from the store; a sealed one is read and authenticated
// whole first (GCM gives no plaintext before its tag is checked, and
// documents are bounded by FAXGATE_MAX_DOCUMENT_BYTES).
func (s *Sealed) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	rc, size, err := s.inner.Open(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	head := make([]byte, len(sealMagic))
	n, err := io.ReadFull(rc, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		rc.Close()
		return nil, 0, fmt.Errorf("blob: open: %w", err)
	}
	head = head[:n]
	if !isSealed(head) {
		// A file goes back to its start and out as itself, so that a
		// download can still use sendfile.
		if f, ok := rc.(*os.File); ok {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				f.Close()
				return nil, 0, fmt.Errorf("blob: open: %w", err)
			}
			return f, size, nil
		}
		return readCloser{io.MultiReader(bytes.NewReader(head), rc), rc}, size, nil
	}
	rest, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, 0, fmt.Errorf("blob: open: %w", err)
	}
	pt, err := s.open(key, append(head, rest...))
	if err != nil {
		return nil, 0, err
	}
	return io.NopCloser(bytes.NewReader(pt)), int64(len(pt)), nil
}

// Delete removes key.
func (s *Sealed) Delete(ctx context.Context, key string) error { return s.inner.Delete(ctx, key) }

// readCloser reads from r and closes c.
type readCloser struct {
	io.Reader
	io.Closer
}
