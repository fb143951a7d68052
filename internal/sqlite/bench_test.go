package sqlite_test

import (
	"context"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/sqlite"
)

// benchStore opens a store with one global endpoint that wants inflight
// events, so that every applied page also writes a delivery: the whole
// outbox transaction a carrier callback costs.
func benchStore(b *testing.B) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "faxgate.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.CreateEndpoint(ctx, &fax.Endpoint{URL: "https://hooks.example/faxgate", Format: fax.FormatJSON,
		APIVersion: fax.APIVersion, Secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0", Inflight: true}); err != nil {
		b.Fatal(err)
	}
	return s
}

// benchFax creates an outbound fax handed to the carrier as carrierID.
func benchFax(b *testing.B, s *sqlite.Store, carrierID string) *fax.Fax {
	b.Helper()
	ctx := context.Background()
	f, _, err := s.CreateFax(ctx, &fax.Fax{To: "+15551230000", From: "+15550000000", Provider: "phaxio", Pages: 3,
		DocumentKey: "k", DocumentType: "application/pdf"}, fax.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.MarkHanded(ctx, f.ID, carrierID, time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	return f
}

// pageUpdate is what a Phaxio transmitting_page callback parses into.
func pageUpdate(f *fax.Fax, carrierID string, page int) *fax.Update {
	return &fax.Update{Provider: "phaxio", Kind: fax.UpdatePage, FaxID: f.ID, ProviderFaxID: carrierID, Page: page, Pages: 3,
		EventKey: "phaxio:" + carrierID + ":transmitting_page:inprogress:" + strconv.Itoa(page) + ":0"}
}

// BenchmarkApplyUpdate measures one carrier update applied on its own: each
// call is a transaction of its own (a commit and an fsync), as when
// callbacks arrive one at a time.
func BenchmarkApplyUpdate(b *testing.B) {
	s := benchStore(b)
	f := benchFax(b, s, "900000001")
	ctx := context.Background()
	page := 0
	b.ReportAllocs()
	for b.Loop() {
		page++
		res, err := s.ApplyUpdate(ctx, pageUpdate(f, "900000001", page))
		if err != nil || !res.Applied {
			b.Fatalf("ApplyUpdate = %+v, %v; want applied", res, err)
		}
	}
}

// BenchmarkApplyUpdateParallel measures updates from 32 goroutines at once,
// as from 32 carrier connections: the writer commits them in groups, so
// the cost per update is the statements, not the fsync.
func BenchmarkApplyUpdateParallel(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16) // 16 × GOMAXPROCS goroutines: 32 on two cores
	b.RunParallel(func(pb *testing.PB) {
		carrierID := strconv.FormatInt(900000000+next.Add(1), 10)
		f := benchFax(b, s, carrierID)
		page := 0
		for pb.Next() {
			page++
			res, err := s.ApplyUpdate(ctx, pageUpdate(f, carrierID, page))
			if err != nil || !res.Applied {
				b.Errorf("ApplyUpdate = %+v, %v; want applied", res, err)
				return
			}
		}
	})
}
