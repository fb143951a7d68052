package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

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
		sk := sealKey{id: keyID(raw), secret: raw}
		for _, o := range s.keys {
			if o.id == sk.id {
				return nil, fmt.Errorf("blob: FAXGATE_DOCUMENT_KEY: key %d repeats an earlier key", i+1)
			}
		}
		s.keys = append(s.keys, sk)
	}
	return s, nil
}

// String and GoString keep the keys out of anything that prints a Sealed.
func (s *Sealed) String() string {
	return fmt.Sprintf("blob.Sealed{%T, %d keys}", s.inner, len(s.keys))
}
func (s *Sealed) GoString() string { return s.String() }

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

// open returns the document b stored under key holds: b itself when it is
// not sealed, and a clear error, never garbage, when it cannot be opened.
func (s *Sealed) open(key string, b []byte) ([]byte, error) {
	if !isSealed(b) {
		return b, nil
	}
	head := b[:min(len(b), sealHeaderLen)]
	u, size, err := newUnsealer(s.keys, key, head, bytes.NewReader(b[len(head):]), nil, int64(len(b)))
	if err != nil {
		return nil, err
	}
	pt := make([]byte, size)
	if _, err := io.ReadFull(u, pt); err != nil {
		return nil, err
	}
	return pt, nil
}

// Put stores b under key, sealed when a key is set. The Info describes the
// document itself (its size and SHA-256), whatever is stored.
func (s *Sealed) Put(ctx context.Context, key string, b []byte) (Info, error) {
	if len(s.keys) == 0 {
		return s.inner.Put(ctx, key, b)
	}
	if err := checkKey(key); err != nil {
		return Info{}, err
	}
	sealed, err := seal(s.keys[0], key, b)
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

// Open returns a reader of the document under key and its size. A sealed
// document is opened segment by segment as it is read; an error in a later
// segment (tampering) comes from Read.
func (s *Sealed) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	rc, size, err := s.inner.Open(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	r, n, err := s.reader(key, rc, size)
	if err != nil {
		rc.Close()
		return nil, 0, err
	}
	return r, n, nil
}

// reader returns the document rc (of size bytes as stored) holds and its
// size. On error the caller closes rc.
func (s *Sealed) reader(key string, rc io.ReadCloser, size int64) (io.ReadCloser, int64, error) {
	head := make([]byte, len(sealMagic), sealHeaderLen)
	n, err := io.ReadFull(rc, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("blob: open: %w", err)
	}
	head = head[:n]
	if !isSealed(head) {
		// A file goes back to its start and out as itself, so that a
		// download can still use sendfile.
		if f, ok := rc.(*os.File); ok {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return nil, 0, fmt.Errorf("blob: open: %w", err)
			}
			return f, size, nil
		}
		return readCloser{io.MultiReader(bytes.NewReader(head), rc), rc}, size, nil
	}
	head = head[:sealHeaderLen]
	if _, err := io.ReadFull(rc, head[len(sealMagic):]); err != nil {
		if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("blob: open: %w", err)
		}
		head = head[:len(sealMagic)]
	}
	u, n64, err := newUnsealer(s.keys, key, head, rc, rc, size)
	if err != nil {
		return nil, 0, err
	}
	return u, n64, nil
}

// Delete removes key.
func (s *Sealed) Delete(ctx context.Context, key string) error { return s.inner.Delete(ctx, key) }

// readCloser reads from r and closes c.
type readCloser struct {
	io.Reader
	io.Closer
}
