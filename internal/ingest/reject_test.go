package ingest

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

type auditLog struct {
	mu   sync.Mutex
	rows []*fax.AuditEntry
	err  error
}

func (a *auditLog) record(_ context.Context, e *fax.AuditEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	a.rows = append(a.rows, e)
	return nil
}

func TestRejectionsAggregate(t *testing.T) {
	var log auditLog
	r := NewRejections(RejectionsOptions{Record: log.record, Now: func() time.Time { return time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC) }})
	ctx := context.Background()
	for i := range 1000 {
		reason := "missing X-Phaxio-Signature header"
		if i%10 == 0 {
			reason = "X-Phaxio-Signature does not match"
		}
		r.Add(ctx, "phaxio", "POST /phaxio-inbound", "198.51.100.7:"+strconv.Itoa(40000+i), reason)
	}
	r.Add(ctx, "gofax", "POST /gofax-inbound", "198.51.100.7:1", "GoFax webhook Basic credentials are missing")
	r.Flush(ctx)
	if len(log.rows) != 2 {
		t.Fatalf("got %d audit rows for 1,001 refusals from one source on two routes, want 2", len(log.rows))
	}
	e := log.rows[1]
	if e.TargetID != "POST /phaxio-inbound" || e.RemoteAddr != "198.51.100.7" || e.Action != "webhook.rejected" || e.Actor != "carrier:phaxio" {
		t.Errorf("got %+v", e)
	}
	want := "1000 refused from 2026-12-06T03:00:00Z to 2026-12-06T03:00:00Z: missing X-Phaxio-Signature header (900); X-Phaxio-Signature does not match (100)"
	if e.Detail != want {
		t.Errorf("detail: got %q, want %q", e.Detail, want)
	}
	r.Flush(ctx)
	if len(log.rows) != 2 {
		t.Errorf("an empty flush wrote %d more rows, want none", len(log.rows)-2)
	}
}

// Refusals from many sources and with many reasons are held in bounded
// memory: past the bounds they share one row and one "other" count.
func TestRejectionsBounded(t *testing.T) {
	var log auditLog
	r := NewRejections(RejectionsOptions{Record: log.record})
	ctx := context.Background()
	for i := range maxRejectSources + 500 {
		r.Add(ctx, "sinch", "POST /sinch-inbound", "[2001:db8::"+strconv.FormatInt(int64(i), 16)+"]:443", "reason "+strconv.Itoa(i%20))
	}
	if n := len(r.pending); n != maxRejectSources+1 {
		t.Errorf("got %d sources held, want %d (the rest in one)", n, maxRejectSources+1)
	}
	other := r.pending[rejectKey{"carrier:sinch", "webhook.rejected", "POST /sinch-inbound", otherSources}]
	if other == nil || other.n != 500 || len(other.reasons) > maxRejectReasons || other.other == 0 {
		t.Fatalf("got %+v, want 500 refusals with at most %d reasons and the rest counted as other", other, maxRejectReasons)
	}
	r.Flush(ctx)
	if len(log.rows) != maxRejectSources+1 || !strings.Contains(log.rows[len(log.rows)-1].Detail+log.rows[0].Detail, "other reasons") {
		t.Errorf("got %d rows, want %d, one naming other reasons", len(log.rows), maxRejectSources+1)
	}
}

func TestRejectionsRunFlushesAtTheEnd(t *testing.T) {
	log := auditLog{}
	r := NewRejections(RejectionsOptions{Record: log.record, Interval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	r.Add(ctx, "asterisk", "POST /_internal/asterisk/inbound", "192.0.2.9:5060", "the X-Internal-Secret header is missing")
	cancel()
	<-done
	if len(log.rows) != 1 {
		t.Errorf("got %d rows after Run ended, want the pending one", len(log.rows))
	}
	log.err = errors.New("disk full")
	r.Add(context.Background(), "asterisk", "POST /_internal/asterisk/inbound", "192.0.2.9:5060", "x")
	r.Flush(context.Background()) // logged and dropped, no panic
}
