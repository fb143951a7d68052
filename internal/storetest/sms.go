package storetest

import (
	"context"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

func testSMS(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	ep := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/hook"})
	m, err := s.CreateSMS(ctx, &fax.SMS{To: "+61412121212", TextLength: 12, Provider: "gofax"})
	if err != nil || m.Status != fax.StatusQueued || m.ID == "" {
		t.Fatalf("create: %+v %v", m, err)
	}
	if err := s.MarkSMSHanded(ctx, m.ID, "52410901"); err != nil {
		t.Fatal(err)
	}
	u := fax.Update{Provider: "gofax", Kind: fax.UpdateSMS, ProviderFaxID: "52410901", Status: fax.StatusSent, EventKey: "gofax:sms:52410901:true"}
	r, err := s.ApplyUpdate(ctx, &u)
	if err != nil || !r.Applied || r.FaxID != m.ID {
		t.Fatalf("apply: %+v %v", r, err)
	}
	if r, _ := s.ApplyUpdate(ctx, &u); !r.Duplicate {
		t.Errorf("repeat: got %+v, want duplicate", r)
	}
	late := fax.Update{Provider: "gofax", Kind: fax.UpdateSMS, FaxID: m.ID, Status: fax.StatusFailed, EventKey: "late"}
	if r, _ := s.ApplyUpdate(ctx, &late); !r.Stale {
		t.Errorf("late failure: got %+v, want stale", r)
	}
	got, _ := s.FindSMSByID(ctx, m.ID)
	if got.Status != fax.StatusSent || got.ProviderSMSID != "52410901" || got.CompletedAt == nil {
		t.Errorf("got %+v", got)
	}
	ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: ep.ID})
	if len(ds) != 1 || ds[0].EventType != fax.EventSMSSent {
		t.Errorf("deliveries: %+v, want one sms.sent", ds)
	}
	if r, _ := s.ApplyUpdate(ctx, &fax.Update{Provider: "gofax", Kind: fax.UpdateSMS, ProviderFaxID: "nobody", Status: fax.StatusSent}); !r.Unknown {
		t.Errorf("unknown sms: got %+v", r)
	}
	_, err = s.FindSMSByID(ctx, "sms_nope")
	wantCode(t, err, fax.ECodeNotFound)
}
