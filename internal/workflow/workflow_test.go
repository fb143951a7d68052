package workflow

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

var now = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func outbound(status fax.Status) *fax.Fax {
	return &fax.Fax{ID: "fax_1", Direction: fax.Outbound, Status: status, Provider: "phaxio", ProviderFaxID: "p1", Pages: 2,
		To: "+15551230000", CreatedAt: now, UpdatedAt: now}
}

func TestApplyToFax(t *testing.T) {
	var ids fax.IDGen
	tests := []struct {
		name     string
		f        *fax.Fax
		u        fax.Update
		outcome  Outcome
		save     bool
		events   []fax.EventType
		wantFail bool
	}{
		{"no fax", nil, fax.Update{Provider: "phaxio", Kind: fax.UpdateStatus, Status: fax.StatusSent}, Unknown, false, nil, false},
		{"other carrier", outbound(fax.StatusSending), fax.Update{Provider: "sinch", Kind: fax.UpdateStatus, Status: fax.StatusSent}, Unknown, false, nil, false},
		{"names another carrier id", outbound(fax.StatusSending),
			fax.Update{Provider: "phaxio", FaxID: "fax_1", ProviderFaxID: "p2", Kind: fax.UpdateStatus, Status: fax.StatusSent}, Unknown, false, nil, false},
		{"inbound fax", &fax.Fax{ID: "fax_1", Direction: fax.Inbound, Status: fax.StatusReceived, Provider: "phaxio"},
			fax.Update{Provider: "phaxio", Kind: fax.UpdateStatus, Status: fax.StatusSent}, Unknown, false, nil, false},
		{"sent", outbound(fax.StatusSending), fax.Update{Provider: "phaxio", Kind: fax.UpdateStatus, Status: fax.StatusSent}, Applied, true,
			[]fax.EventType{fax.EventFaxSent}, false},
		{"failed", outbound(fax.StatusSending), fax.Update{Provider: "phaxio", Kind: fax.UpdateStatus, Status: fax.StatusFailed}, Applied, true,
			[]fax.EventType{fax.EventFaxFailed}, true},
		{"first page of a queued fax", outbound(fax.StatusQueued), fax.Update{Provider: "phaxio", Kind: fax.UpdatePage, Page: 1}, Applied, true,
			[]fax.EventType{fax.EventFaxSending, fax.EventFaxPageSent}, false},
		{"stale", outbound(fax.StatusSent), fax.Update{Provider: "phaxio", Kind: fax.UpdateStatus, Status: fax.StatusSending}, Stale, false, nil, false},
		{"stale but tells the carrier id", &fax.Fax{ID: "fax_1", Direction: fax.Outbound, Status: fax.StatusSending, Provider: "asterisk"},
			fax.Update{Provider: "asterisk", FaxID: "fax_1", ProviderFaxID: "call1", Kind: fax.UpdateStatus, Status: fax.StatusQueued}, Stale, true, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ApplyToFax(&ids, tt.f, &tt.u, now)
			if err != nil {
				t.Fatal(err)
			}
			if c.Outcome != tt.outcome || c.Save != tt.save {
				t.Fatalf("got outcome %q save %v, want %q %v", c.Outcome, c.Save, tt.outcome, tt.save)
			}
			var types []fax.EventType
			for i, ev := range c.Events {
				types = append(types, ev.Type)
				if ev.FaxID != tt.f.ID || c.Result.Events[i] != ev.ID || !json.Valid(ev.Data) {
					t.Fatalf("event %d: %+v, result ids %v", i, ev, c.Result.Events)
				}
			}
			if !slices.Equal(types, tt.events) {
				t.Fatalf("got events %v, want %v", types, tt.events)
			}
			if c.Result.Applied != (tt.outcome == Applied) || c.Result.Stale != (tt.outcome == Stale) || c.Result.Unknown != (tt.outcome == Unknown) {
				t.Fatalf("got result %+v for outcome %q", c.Result, tt.outcome)
			}
			if tt.wantFail && (tt.f.Failure == nil || tt.f.Failure.Code == "") {
				t.Fatalf("got failure %+v, want a default failure", tt.f.Failure)
			}
		})
	}
}

func TestEventDataIsThePublicShape(t *testing.T) {
	var ids fax.IDGen
	f := outbound(fax.StatusSending)
	c, err := ApplyToFax(&ids, f, &fax.Update{Provider: "phaxio", Kind: fax.UpdatePage, Page: 1, Pages: 3}, now)
	if err != nil {
		t.Fatal(err)
	}
	var data struct {
		ID        string `json:"id"`
		PagesSent int    `json:"pages_sent"`
		Page      int    `json:"page"`
	}
	if err := json.Unmarshal(c.Events[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	if data.ID != f.ID || data.PagesSent != 1 || data.Page != 1 {
		t.Fatalf("got data %s, want the fax and page 1", c.Events[0].Data)
	}
}

func TestReceive(t *testing.T) {
	var ids fax.IDGen
	if _, _, err := Receive(&ids, &fax.Update{Kind: fax.UpdateInbound}, now); err == nil {
		t.Fatal("got no error for an inbound update without a document or a failure")
	}
	f, c, err := Receive(&ids, &fax.Update{Kind: fax.UpdateInbound, Provider: "sinch", To: "+15551230000", Pages: 3,
		Document: &fax.InboundDocument{Key: "k"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if f.Direction != fax.Inbound || f.Status != fax.StatusReceived || f.DocumentType != "application/pdf" || f.PagesSent != 3 {
		t.Fatalf("got fax %+v", f)
	}
	if c.Outcome != Applied || len(c.Events) != 1 || c.Events[0].Type != fax.EventFaxReceived || c.Result.FaxID != f.ID {
		t.Fatalf("got change %+v", c)
	}
}

func TestApplyToSMS(t *testing.T) {
	var ids fax.IDGen
	queued := func() *fax.SMS {
		return &fax.SMS{ID: "sms_1", Provider: "sinch", ProviderSMSID: "s1", Status: fax.StatusQueued}
	}
	tests := []struct {
		name    string
		m       *fax.SMS
		u       fax.Update
		outcome Outcome
		event   fax.EventType
	}{
		{"none", nil, fax.Update{Status: fax.StatusSent}, Unknown, ""},
		{"another carrier id", queued(), fax.Update{FaxID: "sms_1", ProviderFaxID: "s2", Status: fax.StatusSent}, Unknown, ""},
		{"sent", queued(), fax.Update{Status: fax.StatusSent}, Applied, fax.EventSMSSent},
		{"failed", queued(), fax.Update{Status: fax.StatusFailed}, Applied, fax.EventSMSFailed},
		{"not final", queued(), fax.Update{Status: fax.StatusSending}, Stale, ""},
		{"final", &fax.SMS{ID: "sms_1", Status: fax.StatusSent}, fax.Update{Status: fax.StatusFailed}, Stale, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ApplyToSMS(&ids, tt.m, &tt.u, now)
			if err != nil {
				t.Fatal(err)
			}
			if c.Outcome != tt.outcome || c.Save != (tt.outcome == Applied) {
				t.Fatalf("got outcome %q save %v, want %q", c.Outcome, c.Save, tt.outcome)
			}
			if tt.event != "" && (len(c.Events) != 1 || c.Events[0].Type != tt.event) {
				t.Fatalf("got events %+v, want one %s", c.Events, tt.event)
			}
			if tt.event == fax.EventSMSFailed && tt.m.Failure == nil {
				t.Fatal("got no failure on a failed SMS")
			}
		})
	}
}

func TestCancel(t *testing.T) {
	var ids fax.IDGen
	if _, err := Cancel(&ids, &fax.Fax{ID: "fax_1", Direction: fax.Inbound, Status: fax.StatusReceived}, now); fax.ErrorCode(err) != fax.ECodeConflict {
		t.Fatalf("inbound: got %v, want a conflict", err)
	}
	if _, err := Cancel(&ids, outbound(fax.StatusSent), now); fax.ErrorCode(err) != fax.ECodeConflict {
		t.Fatalf("final: got %v, want a conflict", err)
	}
	f := outbound(fax.StatusQueued)
	evs, err := Cancel(&ids, f, now)
	if err != nil || len(evs) != 1 || evs[0].Type != fax.EventFaxCanceled || f.Status != fax.StatusCanceled {
		t.Fatalf("got %v, %v, status %s", evs, err, f.Status)
	}
}

func TestNewOutbound(t *testing.T) {
	var ids fax.IDGen
	f, own, evs, err := NewOutbound(&ids, &fax.Fax{To: "+15551230000", CallbackURL: "https://cb.example/"}, fax.CreateOptions{CallbackSecret: "s"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if f.ID == "" || f.Status != fax.StatusQueued || f.Direction != fax.Outbound {
		t.Fatalf("got fax %+v", f)
	}
	if own == nil || own.FaxID != f.ID || own.Format != fax.FormatJSON || !own.Enabled {
		t.Fatalf("got own endpoint %+v", own)
	}
	if len(evs) != 1 || evs[0].Type != fax.EventFaxQueued {
		t.Fatalf("got events %+v", evs)
	}
	if Reuse("a", "b") == nil || Reuse("a", "a") != nil || Reuse("", "b") != nil {
		t.Fatal("Reuse: want a conflict only for a different request")
	}
}

func TestDisableEndpoint(t *testing.T) {
	var ids fax.IDGen
	eps := []*fax.Endpoint{
		{ID: "we_gone", Enabled: true},
		{ID: "we_global", Enabled: true},
		{ID: "we_bound", Enabled: true, Numbers: []string{"+15551230000"}},
		{ID: "we_own", Enabled: true, FaxID: "fax_1"},
		{ID: "we_phaxio", Enabled: true, Format: fax.FormatPhaxio, Events: []fax.EventType{fax.EventFaxSent}},
	}
	d := DisableEndpoint(&ids, "we_gone", "the receiver answered 410 Gone", eps, now)
	var to []string
	for _, e := range d.To {
		to = append(to, e.ID)
	}
	if !slices.Equal(to, []string{"we_global"}) {
		t.Fatalf("got recipients %v, want [we_global]", to)
	}
	if d.Event.Type != fax.EventEndpointDisabled || d.Audit.TargetID != "we_gone" || d.Audit.Detail == "" {
		t.Fatalf("got %+v", d)
	}
}

func TestJudgeAttempt(t *testing.T) {
	since := now.Add(-2 * time.Hour)
	asked := false
	load := func(v *time.Time) func() (*time.Time, error) {
		return func() (*time.Time, error) { asked = true; return v, nil }
	}
	tests := []struct {
		name   string
		a      fax.Attempt
		status fax.DeliveryStatus
		since  *time.Time
		want   Health
		asks   bool
	}{
		{"success", fax.Attempt{At: now, StatusCode: 200}, fax.DeliverySucceeded, &since, Health{Succeeded: true}, false},
		{"gone", fax.Attempt{At: now, StatusCode: 410}, fax.DeliveryFailed, nil, Health{Disable: "the receiver answered 410 Gone"}, false},
		{"first failure", fax.Attempt{At: now, StatusCode: 500}, fax.DeliveryPending, nil, Health{StartFailing: true}, true},
		{"failing for long", fax.Attempt{At: now, StatusCode: 500}, fax.DeliveryPending, &since, Health{Disable: "no successful delivery for 1h0m0s"}, true},
		{"failing a while", fax.Attempt{At: since.Add(time.Minute), StatusCode: 500}, fax.DeliveryPending, &since, Health{}, true},
	}
	for _, tt := range tests {
		asked = false
		got, err := JudgeAttempt(tt.a, tt.status, time.Hour, load(tt.since))
		if err != nil || got != tt.want || asked != tt.asks {
			t.Errorf("%s: got %+v, %v, asked %v; want %+v, asked %v", tt.name, got, err, asked, tt.want, tt.asks)
		}
	}
}

func TestUsable(t *testing.T) {
	if fax.ErrorCode(Usable("we_1", false, false)) != fax.ECodeNotFound {
		t.Error("missing: want not_found")
	}
	if fax.ErrorCode(Usable("we_1", true, false)) != fax.ECodeConflict {
		t.Error("disabled: want conflict")
	}
	if Usable("we_1", true, true) != nil {
		t.Error("enabled: want nil")
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"}, // never inside a character
		{"a\xffb", 10, "a\uFFFDb"},
	}
	for _, tt := range tests {
		if got := Clip(tt.s, tt.n); got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}
