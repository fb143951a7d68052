package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/api"
	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/dispatch"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/ingest"
	"github.com/faxgate/faxgate/internal/metrics"
	"github.com/faxgate/faxgate/internal/postgres"
	"github.com/faxgate/faxgate/internal/retention"
	"github.com/faxgate/faxgate/internal/sqlite"
	"github.com/faxgate/faxgate/internal/webhook"
)

// store is everything Main needs of a store: the SQLite and the PostgreSQL
// stores both provide it.
type store interface {
	api.Store
	api.AuditStore
	ingest.Store
	dispatch.Store
	webhook.Store
	retention.Store
	metrics.Store
	FindCallbackToken(ctx context.Context, id string) (string, error)
	DocumentReferenced(ctx context.Context, key string) (bool, error)
	Setting(ctx context.Context, name string, gen func() string) (string, error)
	CreateSMS(ctx context.Context, m *fax.SMS) (*fax.SMS, error)
	FindSMSByID(ctx context.Context, id string) (*fax.SMS, error)
	MarkSMSHanded(ctx context.Context, id, providerSMSID string) error
	MarkHanded(ctx context.Context, id, providerFaxID string, checkAt time.Time) error
	Close() error
}

// leader is a store that can elect one instance to run a periodic job.
type leader interface {
	TryLead(ctx context.Context, name string) (release func(), ok bool, err error)
}

// usesPostgres reports whether the settings select PostgreSQL.
func usesPostgres(cfg config.Config) bool {
	return strings.HasPrefix(cfg.DatabaseURL, "postgres://") || strings.HasPrefix(cfg.DatabaseURL, "postgresql://")
}

// openStoreFor opens the store the settings select. Only the one process
// that holds the data directory's lock may release leases (SQLite).
func openStoreFor(ctx context.Context, cfg config.Config, now func() time.Time, opts storeOptions) (store, error) {
	if usesPostgres(cfg) {
		s, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{DirectURL: cfg.DatabaseListenURL,
			Now: now, Logger: opts.logger, OnWork: opts.onWork, DisableAfter: opts.disableAfter,
			Redial: fax.RedialPolicy{Interval: cfg.RedialInterval}})
		if err != nil {
			return nil, fmt.Errorf("FAXGATE_DATABASE_URL: %w", err)
		}
		return s, nil
	}
	return sqlite.Open(ctx, filepath.Join(cfg.DataDir, "faxgate.db"), sqlite.Options{
		Now: now, Logger: opts.logger, OnWork: opts.onWork, ReleaseLeases: opts.owner, DisableAfter: opts.disableAfter,
		Redial: fax.RedialPolicy{Interval: cfg.RedialInterval},
	})
}

type storeOptions struct {
	logger       *slog.Logger
	onWork       func(string)
	owner        bool
	disableAfter time.Duration
}
