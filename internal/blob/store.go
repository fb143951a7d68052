package blob

import (
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
)

// Store is the method set Dir and S3 share, for the one place (start-up
// wiring) that picks a store from configuration. Consumers should still
// declare the smaller interface they use.
type Store interface {
	Put(ctx context.Context, key string, b []byte) (Info, error)
	Get(ctx context.Context, key string) ([]byte, error)
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
	Delete(ctx context.Context, key string) error
}

// Open returns the store FAXGATE_BLOB_URL names: a Dir at localDir for ""
// or "file://", a Dir at the path of "file:///path", and an S3 store for
// "s3://…" (see ParseS3URL), checked for reachability.
func Open(ctx context.Context, rawURL, localDir string) (Store, error) {
	switch {
	case rawURL == "":
		return openDir(localDir)
	case strings.HasPrefix(rawURL, "file:"):
		u, err := url.Parse(rawURL)
		if err != nil || u.Opaque != "" || (u.Host != "" && u.Host != "localhost") || u.RawQuery != "" {
			return nil, errors.New("blob: FAXGATE_BLOB_URL: a local directory is written file:///absolute/path (or file:// for the default)")
		}
		if u.Path == "" {
			return openDir(localDir)
		}
		return openDir(u.Path)
	case strings.HasPrefix(rawURL, "s3:"):
		cfg, err := ParseS3URL(rawURL)
		if err != nil {
			return nil, err
		}
		s, err := NewS3(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, errors.New("blob: FAXGATE_BLOB_URL must start with s3:// or file:// (or be empty for the data directory)")
}

// openDir returns NewDir's result as a Store without a typed nil on error.
func openDir(root string) (Store, error) {
	d, err := NewDir(root)
	if err != nil {
		return nil, err
	}
	return d, nil
}
