package fax

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCanTransition(t *testing.T) {
	all := []Status{StatusQueued, StatusSending, StatusSent, StatusFailed, StatusCanceled, StatusReceived, StatusPartial}
	want := map[[2]Status]bool{
		{StatusQueued, StatusSending}:   true,
		{StatusQueued, StatusSent}:      true,
		{StatusQueued, StatusFailed}:    true,
		{StatusQueued, StatusCanceled}:  true,
		{StatusQueued, StatusReceived}:  true,
		{StatusQueued, StatusPartial}:   true,
		{StatusSending, StatusSent}:     true,
		{StatusSending, StatusFailed}:   true,
		{StatusSending, StatusCanceled}: true,
		{StatusSending, StatusReceived}: true,
		{StatusSending, StatusPartial}:  true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := CanTransition(from, to); got != want[[2]Status{from, to}] {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, !got)
			}
		}
	}
	if CanTransition("bogus", StatusSent) || CanTransition(StatusQueued, "bogus") {
		t.Error("unknown statuses must not transition")
	}
}

func TestApply(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		status  Status
		sent    int
		u       Update
		want    []EventType
		wantSt  Status
		wantErr string
	}{
		{"queued to sending", StatusQueued, 0, Update{Kind: UpdateStatus, Status: StatusSending}, []EventType{EventFaxSending}, StatusSending, ""},
		{"sending to sent", StatusSending, 0, Update{Kind: UpdateStatus, Status: StatusSent}, []EventType{EventFaxSent}, StatusSent, ""},
		{"sent stays sent on failed", StatusSent, 0, Update{Kind: UpdateStatus, Status: StatusFailed}, nil, StatusSent, ""},
		{"late sending ignored", StatusSent, 0, Update{Kind: UpdateStatus, Status: StatusSending}, nil, StatusSent, ""},
		{"repeat sending ignored", StatusSending, 0, Update{Kind: UpdateStatus, Status: StatusSending}, nil, StatusSending, ""},
		{"failed with code", StatusSending, 0, Update{Kind: UpdateStatus, Status: StatusFailed, Failure: &Failure{Code: FailBusy, Message: "busy"}}, []EventType{EventFaxFailed}, StatusFailed, FailBusy},
		{"failed without details", StatusSending, 0, Update{Kind: UpdateStatus, Status: StatusFailed}, []EventType{EventFaxFailed}, StatusFailed, FailGeneral},
		{"inbound status refused on outbound", StatusSending, 0, Update{Kind: UpdateStatus, Status: StatusReceived}, nil, StatusSending, ""},
		{"first page from queued", StatusQueued, 0, Update{Kind: UpdatePage, Page: 1}, []EventType{EventFaxSending, EventFaxPageSent}, StatusSending, ""},
		{"next page", StatusSending, 1, Update{Kind: UpdatePage, Page: 2}, []EventType{EventFaxPageSent}, StatusSending, ""},
		{"repeated page", StatusSending, 2, Update{Kind: UpdatePage, Page: 2}, nil, StatusSending, ""},
		{"stale page", StatusSending, 3, Update{Kind: UpdatePage, Page: 2}, nil, StatusSending, ""},
		{"page after final", StatusSent, 0, Update{Kind: UpdatePage, Page: 1}, nil, StatusSent, ""},
		{"retry", StatusSending, 0, Update{Kind: UpdateRetry, RetryCount: 1}, []EventType{EventFaxRetryScheduled}, StatusSending, ""},
		{"retry after final", StatusFailed, 0, Update{Kind: UpdateRetry, RetryCount: 1}, nil, StatusFailed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Fax{Status: tt.status, PagesSent: tt.sent, Pages: 3}
			got := Apply(f, &tt.u, now)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d events %v, want %v", len(got), got, tt.want)
			}
			for i := range got {
				if got[i].Type != tt.want[i] {
					t.Errorf("event %d: got %s, want %s", i, got[i].Type, tt.want[i])
				}
			}
			if f.Status != tt.wantSt {
				t.Errorf("status: got %s, want %s", f.Status, tt.wantSt)
			}
			if tt.wantErr != "" && (f.Failure == nil || f.Failure.Code != tt.wantErr) {
				t.Errorf("failure: got %+v, want code %s", f.Failure, tt.wantErr)
			}
			if f.Status.Final() && len(got) > 0 && f.CompletedAt == nil {
				t.Error("final status without completed_at")
			}
		})
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"+15551234567", "+15551234567", true},
		{" +1 (555) 123-4567 ", "+15551234567", true},
		{"0015551234567", "+15551234567", true},
		{"+61.7.5555.0123", "+61755550123", true},
		{"15551234567", "", false},
		{"+0555123456", "", false},
		{"+1234567", "", false},
		{"+1234567890123456", "", false},
		{"", "", false},
		{"+1555abc4567", "", false},
		{"++15551234567", "", false},
		{"+1555123456７", "", false},
	}
	for _, tt := range tests {
		got, err := ParseNumber(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseNumber(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			if ErrorCode(err) != ECodeInvalid || ErrorMessage(err) == "" {
				t.Errorf("ParseNumber(%q): got %v, want an invalid *Error with a message", tt.in, err)
			}
			continue
		}
		if string(got) != tt.want {
			t.Errorf("ParseNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if n, err := ParseLooseNumber("61712344321"); err != nil || n != "+61712344321" {
		t.Errorf("ParseLooseNumber: got %q, %v", n, err)
	}
	if got := MaskNumber("+15551234567"); got != "…4567" {
		t.Errorf("MaskNumber: got %q", got)
	}
}

func TestNewIDSorts(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := NewID(PrefixFax, t0)
	b := NewID(PrefixFax, t0.Add(time.Millisecond))
	if len(a) != len(PrefixFax)+26 {
		t.Fatalf("got len %d, want %d", len(a), len(PrefixFax)+26)
	}
	if !(a < b) {
		t.Errorf("ids do not sort by time: %s !< %s", a, b)
	}
}

func TestRoute(t *testing.T) {
	f := &Fax{ID: "fax_1", Direction: Inbound, To: "+15550001111"}
	own := &Endpoint{ID: "own", FaxID: "fax_1", Enabled: true}
	other := &Endpoint{ID: "other", FaxID: "fax_2", Enabled: true}
	bound := &Endpoint{ID: "bound", Numbers: []string{"+15550001111"}, Enabled: true}
	global := &Endpoint{ID: "global", Enabled: true}
	inflightOnly := &Endpoint{ID: "g2", Enabled: true, Inflight: true, Events: []EventType{EventFaxPageSent}}
	ids := func(es []*Endpoint) (s []string) {
		for _, e := range es {
			s = append(s, e.ID)
		}
		return s
	}
	if got := ids(Route(EventFaxReceived, f, []*Endpoint{global, bound, own, other})); len(got) != 1 || got[0] != "own" {
		t.Errorf("got %v, want [own]", got)
	}
	if got := ids(Route(EventFaxReceived, f, []*Endpoint{global, bound, other})); len(got) != 1 || got[0] != "bound" {
		t.Errorf("got %v, want [bound]", got)
	}
	if got := ids(Route(EventFaxReceived, f, []*Endpoint{global, other, inflightOnly})); len(got) != 1 || got[0] != "global" {
		t.Errorf("got %v, want [global]", got)
	}
	if got := ids(Route(EventFaxPageSent, f, []*Endpoint{global, inflightOnly})); len(got) != 1 || got[0] != "g2" {
		t.Errorf("got %v, want [g2]", got)
	}
}

func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"+15551234567", " +1 (555) 123-4567 ", "0015551234567", "", "+", "++1", "+0123456789", "61712344321"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNumber(s)
		if err != nil {
			if ErrorCode(err) != ECodeInvalid {
				t.Fatalf("ParseNumber(%q): error code %q, want invalid", s, ErrorCode(err))
			}
			return
		}
		again, err := ParseNumber(string(n))
		if err != nil || again != n {
			t.Fatalf("ParseNumber(%q) = %q is not a fixed point: %q %v", s, n, again, err)
		}
		if len(n) < 9 || len(n) > 16 || n[0] != '+' || n[1] == '0' {
			t.Fatalf("ParseNumber(%q) = %q is not E.164", s, n)
		}
		ParseLooseNumber(s)
		MaskNumber(s)
	})
}

func TestBecause(t *testing.T) {
	cause := errors.New("disk I/O error: /var/lib/faxgate/faxgate.db-wal")
	err := fmt.Errorf("store: %w", Because(cause, ECodeUnavailable, "try again in %ds", 5))
	if ErrorCode(err) != ECodeUnavailable || ErrorMessage(err) != "try again in 5s" {
		t.Errorf("code %q message %q, want unavailable and the shown message only", ErrorCode(err), ErrorMessage(err))
	}
	if !errors.Is(err, cause) || !strings.Contains(err.Error(), cause.Error()) {
		t.Errorf("%v: the cause is lost for the log", err)
	}
}
