package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/faxgate/faxgate/internal/sqlite"
	"github.com/faxgate/faxgate/internal/storetest"
)

// TestRestartKeepsDeliveryLeases runs with ReleaseLeases, as faxgate serve
// opens the store: the other leases are released, the deliveries' are not.
func TestRestartKeepsDeliveryLeases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "faxgate.db")
	storetest.RestartKeepsDeliveryLeases(t, func(t *testing.T, c *storetest.Clock) (storetest.Store, func()) {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{Now: c.Now, ReleaseLeases: true})
		if err != nil {
			t.Fatal(err)
		}
		return s, func() { s.Close() }
	})
}
