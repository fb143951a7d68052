package fax

import (
	"testing"
	"time"
)

// TestRedialable: only a call that transmitted nothing is redialed.
func TestRedialable(t *testing.T) {
	for _, tt := range []struct {
		name      string
		provider  string
		pagesSent int
		fl        *Failure
		want      bool
	}{
		{"busy", "phaxio", 0, &Failure{Code: FailBusy}, true},
		{"no answer", "sinch", 0, &Failure{Code: FailNoAnswer}, true},
		{"congestion", "gofax", 0, &Failure{Code: FailCongestion}, true},
		{"busy after a page", "phaxio", 1, &Failure{Code: FailBusy}, false},
		{"Phaxio line error", "phaxio", 0, &Failure{Code: FailLine, CarrierType: "lineError"}, false},
		{"Asterisk call not placed", "asterisk", 0, &Failure{Code: FailLine, CarrierType: "OriginateResponse"}, true},
		{"Asterisk fax transfer failed", "asterisk", 0, &Failure{Code: FailFax, CarrierType: "FaxResult"}, false},
		{"not confirmed", "gofax", 0, &Failure{Code: FailNotConfirmed}, false},
		{"number not operational", "phaxio", 0, &Failure{Code: FailNotOperational}, false},
		{"carrier error", "phaxio", 0, &Failure{Code: FailCarrier}, false},
		{"no failure", "phaxio", 0, nil, false},
	} {
		f := &Fax{Direction: Outbound, Provider: tt.provider, PagesSent: tt.pagesSent}
		if got := Redialable(f, tt.fl); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestRedialCounts: max_attempts counts dials, the first included; a
// failover uses none up.
func TestRedialCounts(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	busy := &Failure{Code: FailBusy}
	f := &Fax{Direction: Outbound, Status: StatusSending, Provider: "phaxio", ProviderFaxID: "1", MaxAttempts: 2, CreatedAt: now}
	Failover(f, &Failure{Code: FailCarrier}, "sinch", now)
	if f.DialNumber() != 1 || f.Provider != "sinch" {
		t.Fatalf("after a failover: dial %d via %s, want 1 via sinch", f.DialNumber(), f.Provider)
	}
	at, ok := Redial(f, busy, RedialPolicy{}, now)
	if !ok || !at.Equal(now.Add(5*time.Minute)) || f.Status != StatusQueued || f.DialNumber() != 2 {
		t.Fatalf("first busy: got %v %v, status %s, dial %d; want a redial in 5m, queued, dial 2", at, ok, f.Status, f.DialNumber())
	}
	f.Status = StatusSending
	if _, ok := Redial(f, busy, RedialPolicy{Interval: time.Minute}, now); ok {
		t.Errorf("second busy with max_attempts 2: redialed, want the fax to fail")
	}
	if NextCarrier(f, []string{"phaxio", "sinch", "gofax"}) != "gofax" {
		t.Errorf("next carrier: got %q, want gofax (phaxio tried, sinch current)", NextCarrier(f, []string{"phaxio", "sinch", "gofax"}))
	}
	if _, ok := Redial(&Fax{Direction: Outbound, Status: StatusSending}, busy, RedialPolicy{}, now); ok {
		t.Errorf("a fax from before redial (max_attempts 0) was redialed")
	}
}
