package dispatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/dispatch"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/storetest"
)

// emptyBlockingSender holds its sends until released and, asked whether
// it has a fax, always says no: the carrier commits a send only as its
// request ends.
type emptyBlockingSender struct{ blockingSender }

func (s *emptyBlockingSender) Find(ctx context.Context, f *fax.Fax) (string, bool, error) {
	return "", false, nil
}

// TestLeaseLapseDoesNotResendOwnSend: when a send outlives its lease in the
// same process (a stalled renewal on a loaded machine), the fax claimed
// again is not handled a second time beside the send still running: the
// carrier, which records the send only as its request ends, would answer
// "not here" to every question and the fax would go out twice.
func TestLeaseLapseDoesNotResendOwnSend(t *testing.T) {
	clock := storetest.NewClock()
	st := openStore(t, clock)
	s := &emptyBlockingSender{blockingSender{release: make(chan struct{}), started: make(chan string, 10)}}
	d := dispatch.New(st, dispatch.Options{
		Senders: map[string]dispatch.Sender{"phaxio": s}, Now: clock.Now, Poll: 5 * time.Millisecond,
		LeaseFor: time.Minute, FindSettle: time.Millisecond, FindSpacing: time.Millisecond,
		Document: func(context.Context, *fax.Fax) ([]byte, error) { return []byte("%PDF-1.4"), nil },
	})
	id := createFor(t, st, "phaxio")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	<-s.started
	// The lease lapses while the send runs (no renewal within a minute of
	// the store's clock), and the dispatcher polls again and again.
	clock.Advance(time.Hour)
	deadline := time.Now().Add(time.Second)
	second := false
	for !second && time.Now().Before(deadline) {
		d.Notify()
		select {
		case <-s.started:
			second = true
		case <-time.After(10 * time.Millisecond):
		}
	}
	close(s.release)
	cancel()
	<-done
	if second || s.count(id) != 1 {
		t.Fatalf("the fax was sent again beside its own running send (%d sends), want 1", s.count(id))
	}
}
