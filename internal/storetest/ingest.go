package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// testIngestScope checks that an event vouched for by one fax's id cannot
// spend another fax's event: one naming a carrier id other than its fax's
// matches nothing, and an event that matched nothing leaves no key behind
// to make the genuine event a duplicate (issue 15).
func testIngestScope(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	x := mustCreate(t, s, "+61755550101", func(f *fax.Fax) { f.Provider = "gofax" })
	y := mustCreate(t, s, "+61755550102", func(f *fax.Fax) { f.Provider = "gofax" })
	if _, err := s.ClaimFaxes(ctx, time.Minute, 10); err != nil {
		t.Fatal(err)
	}
	for id, carrierID := range map[string]string{x.ID: "100597945", y.ID: "100597946"} {
		if err := s.MarkHanded(ctx, id, carrierID, c.Now().Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// X's token verified job_id=X; the body names Y's GoFax id.
	forged := fax.Update{Provider: "gofax", Kind: fax.UpdateStatus, FaxID: x.ID, ProviderFaxID: "100597946",
		Status: fax.StatusSent, EventKey: "gofax:fax:100597946:true"}
	r, err := s.ApplyUpdate(ctx, &forged)
	if err != nil || !r.Unknown || r.Applied {
		t.Fatalf("forged: got %+v %v, want unknown", r, err)
	}
	genuine := fax.Update{Provider: "gofax", Kind: fax.UpdateStatus, ProviderFaxID: "100597946",
		Status: fax.StatusSent, EventKey: "gofax:fax:100597946:true"}
	r, err = s.ApplyUpdate(ctx, &genuine)
	if err != nil || !r.Applied || r.Duplicate || r.FaxID != y.ID {
		t.Fatalf("genuine after the forged: got %+v %v, want applied to %s", r, err, y.ID)
	}
	for _, id := range []string{x.ID, y.ID} {
		got, _ := s.FindFaxByID(ctx, id)
		want := fax.StatusSending
		if id == y.ID {
			want = fax.StatusSent
		}
		if got.Status != want {
			t.Errorf("%s: got %s, want %s", id, got.Status, want)
		}
	}
	if r, _ := s.ApplyUpdate(ctx, &genuine); !r.Duplicate {
		t.Errorf("genuine repeated: got %+v, want duplicate", r)
	}

	// An event for a fax not known yet, then known: the second delivery
	// applies.
	early := fax.Update{Provider: "gofax", Kind: fax.UpdateStatus, ProviderFaxID: "100597947", Status: fax.StatusSent, EventKey: "gofax:fax:100597947:true"}
	if r, _ := s.ApplyUpdate(ctx, &early); !r.Unknown {
		t.Fatalf("early: got %+v, want unknown", r)
	}
	z := mustCreate(t, s, "+61755550103", func(f *fax.Fax) { f.Provider = "gofax" })
	s.ClaimFaxes(ctx, time.Minute, 10)
	if err := s.MarkHanded(ctx, z.ID, "100597947", c.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.ApplyUpdate(ctx, &early); !r.Applied || r.FaxID != z.ID {
		t.Errorf("the same event once its fax is known: got %+v, want applied to %s", r, z.ID)
	}

	// The same for SMS.
	mx, err := s.CreateSMS(ctx, &fax.SMS{To: "+61412121201", TextLength: 5, Provider: "gofax"})
	if err != nil {
		t.Fatal(err)
	}
	my, err := s.CreateSMS(ctx, &fax.SMS{To: "+61412121202", TextLength: 5, Provider: "gofax"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSMSHanded(ctx, mx.ID, "52410001"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSMSHanded(ctx, my.ID, "52410002"); err != nil {
		t.Fatal(err)
	}
	smsForged := fax.Update{Provider: "gofax", Kind: fax.UpdateSMS, FaxID: mx.ID, ProviderFaxID: "52410002", Status: fax.StatusSent, EventKey: "gofax:sms:52410002:true"}
	if r, err := s.ApplyUpdate(ctx, &smsForged); err != nil || !r.Unknown {
		t.Fatalf("forged sms: got %+v %v, want unknown", r, err)
	}
	smsGenuine := fax.Update{Provider: "gofax", Kind: fax.UpdateSMS, ProviderFaxID: "52410002", Status: fax.StatusSent, EventKey: "gofax:sms:52410002:true"}
	if r, err := s.ApplyUpdate(ctx, &smsGenuine); err != nil || !r.Applied || r.FaxID != my.ID {
		t.Fatalf("genuine sms after the forged: got %+v %v, want applied to %s", r, err, my.ID)
	}
	if got, _ := s.FindSMSByID(ctx, mx.ID); got.Status.Final() {
		t.Errorf("sms %s: got %s, want untouched by the forged event", mx.ID, got.Status)
	}
}

// testIngestFailedReception checks that a reception that failed before any
// page (no document, a failure saying why) is recorded, listed and
// announced like any received fax, once.
func testIngestFailedReception(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	u := fax.Update{Provider: "gofax", Kind: fax.UpdateInbound, EventKey: "gofax:in:88002", ProviderFaxID: "88002",
		Status: fax.StatusPartial, To: "+61298765432", From: "+61398761234",
		Failure: &fax.Failure{Code: fax.FailReception, Message: "The reception failed before any page arrived; there is no document.", CarrierMessage: "INCOMPLETE"}}
	r, err := s.ApplyUpdate(ctx, &u)
	if err != nil || !r.Applied || r.FaxID == "" {
		t.Fatalf("got %+v %v, want applied", r, err)
	}
	f, err := s.FindFaxByID(ctx, r.FaxID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Direction != fax.Inbound || f.Status != fax.StatusPartial || f.DocumentKey != "" || f.Failure == nil ||
		f.Failure.Code != fax.FailReception || f.Failure.CarrierMessage != "INCOMPLETE" {
		t.Errorf("got %+v (failure %+v), want an inbound partial fax without a document, failure reception_failed", f, f.Failure)
	}
	list, _, err := s.FindFaxes(ctx, fax.FaxFilter{Direction: fax.Inbound, Limit: 10})
	if err != nil || len(list) != 1 || list[0].ID != f.ID {
		t.Errorf("list: got %d faxes %v, want the failed reception", len(list), err)
	}
	if got := eventTypes(t, s, f.ID); len(got) != 1 || got[0] != fax.EventFaxReceived {
		t.Errorf("events: got %v, want one fax.received", got)
	}
	if r, err := s.ApplyUpdate(ctx, &u); err != nil || !r.Duplicate {
		t.Errorf("repeated: got %+v %v, want duplicate", r, err)
	}
}
