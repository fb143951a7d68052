// Package blob stores document bytes by key: faxes' originals and received
// PDFs. The local directory store is the default; an object-storage store can
// sit beside it behind the same methods. It imports nothing of faxgate but
// internal/fax.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/faxgate/faxgate/internal/fax"
)

// Dir stores blobs as files under a root directory, written atomically
// (temporary file, fsync, rename) so that a crash never leaves half a
// document under a key.
type Dir struct {
	root string
}

// NewDir returns a Dir rooted at root, creating it with private permissions.
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", root, err)
	}
	return &Dir{root: root}, nil
}

// Info describes a stored blob.
type Info = fax.BlobInfo

// checkKey refuses keys that could escape a store's root or prefix: every
// store applies the same rules, so a key valid in one is valid in all.
func checkKey(key string) error {
	if key == "" || strings.Contains(key, "..") || strings.HasPrefix(key, "/") || strings.ContainsAny(key, "\\\x00") {
		return fmt.Errorf("blob: invalid key %q", key)
	}
	return nil
}

func (d *Dir) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Put stores b under key and returns its size and SHA-256. A disk out of
// space (or over its quota, or over the process's file size limit) is the
// service being unavailable: the caller is told to try again (503), as for
// a database that cannot take writes.
func (d *Dir) Put(_ context.Context, key string, b []byte) (Info, error) {
	info, err := d.put(key, b)
	return info, noSpace(err)
}

func (d *Dir) put(key string, b []byte) (Info, error) {
	p, err := d.path(key)
	if err != nil {
		return Info{}, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return Info{}, fmt.Errorf("blob: put: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return Info{}, fmt.Errorf("blob: put: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return Info{}, fmt.Errorf("blob: put: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return Info{}, fmt.Errorf("blob: put: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Info{}, fmt.Errorf("blob: put: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return Info{}, fmt.Errorf("blob: put: %w", err)
	}
	sum := sha256.Sum256(b)
	return Info{Key: key, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}, nil
}

func noSpace(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG) {
		return fax.Because(err, fax.ECodeUnavailable, "no space left to store the document; try again shortly")
	}
	return err
}

// Get returns the bytes under key, or a not_found *fax.Error.
func (d *Dir) Get(_ context.Context, key string) ([]byte, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fax.Errorf(fax.ECodeNotFound, "document not found")
	}
	if err != nil {
		return nil, fmt.Errorf("blob: get: %w", err)
	}
	return b, nil
}

// Open returns a reader for key, or a not_found *fax.Error.
func (d *Dir) Open(_ context.Context, key string) (io.ReadCloser, int64, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fax.Errorf(fax.ECodeNotFound, "document not found")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("blob: open: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("blob: open: %w", err)
	}
	return f, st.Size(), nil
}

// Delete removes key; a missing key is not an error.
func (d *Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: delete: %w", err)
	}
	return nil
}
