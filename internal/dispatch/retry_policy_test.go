package dispatch_test

import (
	"errors"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// TestRetryPolicyDefaults: a hand-over the carrier did not take waits 30s,
// then twice as long; a carrier's Retry-After beyond 24h waits 24h.
func TestRetryPolicyDefaults(t *testing.T) {
	retry := &fax.SendError{Outcome: fax.SendRetryable, Err: errors.New("refused")}
	s := &fakeSender{results: []error{retry, retry}}
	e := setup(t, s)
	id := e.create(t)
	e.once(t)
	for _, wait := range []time.Duration{30 * time.Second, time.Minute} {
		before := s.sends
		e.clock.Advance(wait - time.Second)
		if e.once(t); s.sends != before {
			t.Fatalf("sent again before %v", wait)
		}
		e.clock.Advance(time.Second)
		if e.once(t); s.sends != before+1 {
			t.Fatalf("not sent again after %v (%d sends)", wait, s.sends)
		}
	}
	if f := e.fax(t, id); f.ProviderFaxID != "carrier-1" {
		t.Errorf("got %+v, want handed on the third send", f)
	}

	long := &fax.SendError{Outcome: fax.SendRetryable, RetryAfter: 72 * time.Hour, Err: errors.New("503")}
	s2 := &fakeSender{results: []error{long}}
	e2 := setup(t, s2)
	e2.create(t)
	e2.once(t)
	e2.clock.Advance(24*time.Hour - time.Second)
	if e2.once(t); s2.sends != 1 {
		t.Fatalf("sent again before 24h (%d sends)", s2.sends)
	}
	e2.clock.Advance(time.Second)
	if e2.once(t); s2.sends != 2 {
		t.Errorf("a Retry-After of 72h held the fax past 24h (%d sends)", s2.sends)
	}
}
