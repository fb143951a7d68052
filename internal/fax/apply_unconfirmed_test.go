package fax

import (
	"testing"
	"time"
)

// TestApplySettlesUnconfirmed: a carrier's final report replaces a
// not_confirmed failure; nothing else reopens a final fax.
func TestApplySettlesUnconfirmed(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	done := now.Add(-time.Hour)
	unconfirmed := func() *Fax {
		return &Fax{Status: StatusFailed, Failure: &Failure{Code: FailNotConfirmed, Message: "not confirmed; check GoFax"}, CompletedAt: &done}
	}
	for _, tt := range []struct {
		name   string
		f      *Fax
		u      Update
		want   Status
		events int
	}{
		{"carrier sent", unconfirmed(), Update{Kind: UpdateStatus, Status: StatusSent}, StatusSent, 1},
		{"carrier failed", unconfirmed(), Update{Kind: UpdateStatus, Status: StatusFailed, Failure: &Failure{Code: FailBusy}}, StatusFailed, 1},
		{"not confirmed again", unconfirmed(), Update{Kind: UpdateStatus, Status: StatusFailed, Failure: &Failure{Code: FailNotConfirmed}}, StatusFailed, 0},
		{"still sending", unconfirmed(), Update{Kind: UpdateStatus, Status: StatusSending}, StatusFailed, 0},
		{"a page", unconfirmed(), Update{Kind: UpdatePage, Page: 1}, StatusFailed, 0},
		{"other failure", &Fax{Status: StatusFailed, Failure: &Failure{Code: FailCarrier}}, Update{Kind: UpdateStatus, Status: StatusSent}, StatusFailed, 0},
		{"canceled", &Fax{Status: StatusCanceled, Failure: &Failure{Code: FailCanceled}}, Update{Kind: UpdateStatus, Status: StatusSent}, StatusCanceled, 0},
	} {
		ev := Apply(tt.f, &tt.u, now)
		if tt.f.Status != tt.want || len(ev) != tt.events {
			t.Errorf("%s: got %s with %d events, want %s with %d", tt.name, tt.f.Status, len(ev), tt.want, tt.events)
		}
		if tt.events > 0 && (tt.f.CompletedAt == nil || !tt.f.CompletedAt.Equal(now)) {
			t.Errorf("%s: completed at %v, want %v", tt.name, tt.f.CompletedAt, now)
		}
		if tt.name == "carrier sent" && tt.f.Failure != nil {
			t.Errorf("%s: failure %+v kept", tt.name, tt.f.Failure)
		}
		if tt.name == "carrier failed" && tt.f.Failure.Code != FailBusy {
			t.Errorf("%s: got failure %+v, want the carrier's", tt.name, tt.f.Failure)
		}
	}
}
