package postgres_test

import (
	"context"
	"testing"

	"github.com/faxgate/faxgate/internal/postgres"
	"github.com/faxgate/faxgate/internal/storetest"
)

// TestRestartKeepsDeliveryLeases: PostgreSQL, shared by instances, never
// releases leases at start-up; a restarted instance waits for them too.
func TestRestartKeepsDeliveryLeases(t *testing.T) {
	serverURL(t)
	dbURL := mustDatabase(t)
	storetest.RestartKeepsDeliveryLeases(t, func(t *testing.T, c *storetest.Clock) (storetest.Store, func()) {
		s, err := postgres.Open(context.Background(), dbURL, postgres.Options{Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		return s, func() { s.Close() }
	})
}
