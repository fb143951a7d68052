package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/faxgate/faxgate/internal/api"
	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/document"
	"github.com/faxgate/faxgate/internal/fax"
)

// newAddCover reads the operator's cover logo and template and returns the
// send handler's cover step. A logo or template that cannot be used stops
// the start-up with its setting's name, rather than failing sends later.
func newAddCover(cfg config.Config) (func(context.Context, api.Document, fax.Cover, time.Time) (api.Document, error), error) {
	var opts document.CoverOptions
	if cfg.CoverTemplate != "" {
		b, err := readCoverFile(cfg.CoverTemplate, document.MaxCoverTemplate)
		if err != nil {
			return nil, fmt.Errorf("FAXGATE_COVER_TEMPLATE: %w", err)
		}
		if opts.Template = string(b); opts.Template == "" {
			return nil, fmt.Errorf("FAXGATE_COVER_TEMPLATE: %s is empty", cfg.CoverTemplate)
		}
		if _, err := document.NewCoverRenderer(opts); err != nil {
			return nil, fmt.Errorf("FAXGATE_COVER_TEMPLATE: %s: %w", cfg.CoverTemplate, err)
		}
	}
	if cfg.CoverLogo != "" {
		b, err := readCoverFile(cfg.CoverLogo, document.MaxCoverLogo)
		if err != nil {
			return nil, fmt.Errorf("FAXGATE_COVER_LOGO: %w", err)
		}
		opts.Logo = b
	}
	r, err := document.NewCoverRenderer(opts)
	if err != nil {
		return nil, fmt.Errorf("FAXGATE_COVER_LOGO: %s: %w", cfg.CoverLogo, err)
	}
	return func(_ context.Context, doc api.Document, c fax.Cover, at time.Time) (api.Document, error) {
		out, err := r.Prepend(c, document.Converted{Bytes: doc.Bytes, MIME: doc.MIME, Pages: doc.Pages}, at)
		if err != nil {
			return api.Document{}, err
		}
		return api.Document{Bytes: out.Bytes, MIME: out.MIME, Pages: out.Pages}, nil
	}, nil
}

// readCoverFile reads a cover setting's file, refusing one over max bytes
// before reading it all.
func readCoverFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}
