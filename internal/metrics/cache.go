package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// DefaultStoreCache is how long the store's figures are reused when New is
// given no duration.
const DefaultStoreCache = 30 * time.Second

// storeReadTimeout bounds one read of the store's figures. The read runs
// apart from any scrape, so a slow database delays figures, not scrapes.
const storeReadTimeout = 30 * time.Second

// statsCache keeps the store's figures so that scraping costs the same
// whatever the size of the tables: the store is read at most once per
// cacheFor, by one read that every scrape shares, and a scrape that finds
// the figures older than that gets them at once while a fresh read runs
// behind it. Only the first scrape after start waits for a read.
type statsCache struct {
	store    Store
	log      *slog.Logger
	cacheFor time.Duration
	now      func() time.Time

	mu      sync.Mutex
	st      fax.Stats
	err     error
	at      time.Time     // when the last read finished; zero before the first
	reading chan struct{} // closed when the read in progress ends; nil when none
}

func newStatsCache(store Store, log *slog.Logger, cacheFor time.Duration) *statsCache {
	if cacheFor <= 0 {
		cacheFor = DefaultStoreCache
	}
	return &statsCache{store: store, log: log, cacheFor: cacheFor, now: time.Now}
}

// get returns the latest figures, starting a read when they are older than
// cacheFor. It waits only when there are none yet, and then no longer than
// ctx allows.
func (c *statsCache) get(ctx context.Context) (fax.Stats, error) {
	c.mu.Lock()
	have := !c.at.IsZero()
	if have && c.now().Sub(c.at) < c.cacheFor {
		defer c.mu.Unlock()
		return c.st, c.err
	}
	if c.reading == nil {
		c.reading = make(chan struct{})
		go c.read(c.reading)
	}
	if have {
		defer c.mu.Unlock()
		return c.st, c.err
	}
	reading := c.reading
	c.mu.Unlock()
	select {
	case <-reading:
	case <-ctx.Done():
		return fax.Stats{}, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st, c.err
}

// read reads the store once and publishes the result, then closes done.
func (c *statsCache) read(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), storeReadTimeout)
	defer cancel()
	st, err := c.store.Stats(ctx)
	if err != nil {
		c.log.Warn("metrics: read store", "err", err)
	}
	c.mu.Lock()
	c.st, c.err, c.at, c.reading = st, err, c.now(), nil
	c.mu.Unlock()
	close(done)
}
