package blob

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/faxgate/faxgate/internal/fax"
)

// List calls fn with every document key under the directory, skipping the
// temporary files of writes in progress or interrupted.
func (d *Dir) List(ctx context.Context, fn func(key string) error) error {
	return filepath.WalkDir(d.root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.HasPrefix(e.Name(), ".tmp-") {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(d.root, path)
		if err != nil {
			return err
		}
		return fn(filepath.ToSlash(rel))
	})
}

// List calls fn with every document key under the store's prefix.
func (s *S3) List(ctx context.Context, fn func(key string) error) error {
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("blob: list: %w", obj.Err)
		}
		if err := fn(strings.TrimPrefix(obj.Key, s.prefix)); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// ResealResult counts what Reseal did.
type ResealResult struct {
	Resealed int // moved to the first key (from clear or an older key)
	Current  int // already sealed with the first key
	Vanished int // deleted between listing and reading
}

// Reseal moves every stored document to the first key. Each document is
// read, opened and written again whole under the same key, which both
// stores replace atomically, so an interruption leaves every document
// readable, and running it again skips what is done. It stops at the first
// document it cannot open (wrong key, tampered) rather than skip it
// silently.
func (s *Sealed) Reseal(ctx context.Context, progress func(key string)) (ResealResult, error) {
	var res ResealResult
	if len(s.keys) == 0 {
		return res, errors.New("blob: re-encrypt needs FAXGATE_DOCUMENT_KEY")
	}
	l, ok := s.inner.(interface {
		List(ctx context.Context, fn func(key string) error) error
	})
	if !ok {
		return res, fmt.Errorf("blob: re-encrypt: the store %T cannot list its documents", s.inner)
	}
	err := l.List(ctx, func(key string) error {
		raw, err := s.inner.Get(ctx, key)
		if fax.ErrorCode(err) == fax.ECodeNotFound {
			res.Vanished++
			return nil
		}
		if err != nil {
			return err
		}
		if id, ok := sealedWith(raw); ok && id == s.keys[0].id {
			res.Current++
			return nil
		}
		pt, err := s.open(key, raw)
		if err != nil {
			return err
		}
		if err := s.rewrite(ctx, key, pt); err != nil {
			return err
		}
		res.Resealed++
		if progress != nil {
			progress(key)
		}
		return nil
	})
	return res, err
}

// rewrite seals pt under key again. A file keeps its modification time:
// the crash sweep checks only recent files against the database, and a
// re-encrypted directory would otherwise be all recent for a week.
func (s *Sealed) rewrite(ctx context.Context, key string, pt []byte) error {
	d, ok := s.inner.(*Dir)
	if !ok {
		_, err := s.Put(ctx, key, pt)
		return err
	}
	p, err := d.path(key)
	if err != nil {
		return err
	}
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("blob: re-encrypt: %w", err)
	}
	if _, err := s.Put(ctx, key, pt); err != nil {
		return err
	}
	if err := os.Chtimes(p, time.Time{}, st.ModTime()); err != nil {
		return fmt.Errorf("blob: re-encrypt: %w", err)
	}
	return nil
}
