package postgres_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/postgres"
)

// The ApplyUpdate benchmarks do what internal/sqlite's benchmarks of the
// same names do, so that the two stores compare with benchstat:
//
//	go test -run '^$' -bench ApplyUpdate -count 10 ./internal/sqlite/ > sqlite.txt
//	go test -run '^$' -bench ApplyUpdate -count 10 ./internal/postgres/ > postgres.txt
//	benchstat sqlite.txt postgres.txt
//
// Mind the server: scripts/pg runs PostgreSQL with fsync=off, while the
// SQLite store syncs every commit.

// benchStore opens a store on a fresh database with one global endpoint
// that wants inflight events, so that every applied page also writes a
// delivery: the whole outbox transaction a carrier callback costs.
func benchStore(b *testing.B) *postgres.Store {
	b.Helper()
	ctx := context.Background()
	s := mustOpen(b, mustDatabase(b), postgres.Options{})
	if _, err := s.CreateEndpoint(ctx, &fax.Endpoint{URL: "https://hooks.example/faxgate", Format: fax.FormatJSON,
		APIVersion: fax.APIVersion, Secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0", Inflight: true}); err != nil {
		b.Fatal(err)
	}
	return s
}

// benchFax creates an outbound fax handed to the carrier as carrierID.
func benchFax(b *testing.B, s *postgres.Store, carrierID string) *fax.Fax {
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

// BenchmarkApplyUpdate measures one carrier update applied on its own:
// the latency of one transaction (two round trips and a commit).
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
// as from 32 carrier connections, each about its own fax: every update is
// its own transaction on one of the pool's connections.
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

// BenchmarkCreateFaxParallel stores new faxes from many goroutines (fax
// row, fax.queued event and its delivery, NOTIFY).
func BenchmarkCreateFaxParallel(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			to := fmt.Sprintf("+1555%07d", n.Add(1))
			if _, _, err := s.CreateFax(ctx, &fax.Fax{To: to, Provider: "simulator", Pages: 1}, fax.CreateOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkClaimFaxesParallel claims queued faxes ten at a time from many
// goroutines: SKIP LOCKED claims, the sending transition and its events.
func BenchmarkClaimFaxesParallel(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	// Untimed: ten queued faxes per claim.
	for range b.N * 10 {
		if _, _, err := s.CreateFax(ctx, &fax.Fax{To: "+15551230000", Provider: "simulator", Pages: 1}, fax.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.ClaimFaxes(ctx, 1<<40, 10); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
