package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

func testEndpoints(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	e := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/x", Events: []fax.EventType{fax.EventFaxSent}, Numbers: []string{"+15550001111"}, Description: "d"})
	got, err := s.FindEndpointByID(ctx, e.ID)
	if err != nil || got.URL != e.URL || len(got.Events) != 1 || len(got.Numbers) != 1 || !got.Enabled || got.Secret != e.Secret {
		t.Fatalf("got %+v %v", got, err)
	}
	exp := c.Now().Add(time.Hour)
	up, err := s.UpdateEndpoint(ctx, e.ID, func(e *fax.Endpoint) error {
		e.PreviousSecret, e.PreviousSecretExpiresAt, e.Secret = e.Secret, &exp, "whsec_bmV3c2VjcmV0bmV3c2VjcmV0"
		e.Inflight = true
		return nil
	})
	if err != nil || up.Secret == e.Secret || up.PreviousSecret != e.Secret || !up.Inflight {
		t.Fatalf("got %+v %v", up, err)
	}
	got, _ = s.FindEndpointByID(ctx, e.ID)
	if got.PreviousSecretExpiresAt == nil || !got.PreviousSecretExpiresAt.Equal(exp) || len(got.Secrets(c.Now())) != 2 {
		t.Errorf("rotation not stored: %+v", got)
	}
	_, err = s.UpdateEndpoint(ctx, e.ID, func(*fax.Endpoint) error { return fax.Errorf(fax.ECodeInvalid, "no") })
	wantCode(t, err, fax.ECodeInvalid)
	mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/y"})
	list, next, err := s.FindEndpoints(ctx, 1, "")
	if err != nil || len(list) != 1 || next == "" {
		t.Fatalf("page 1: %d %q %v", len(list), next, err)
	}
	list, next, _ = s.FindEndpoints(ctx, 1, next)
	if len(list) != 1 || next != "" || list[0].ID != e.ID {
		t.Fatalf("page 2: %+v %q", list, next)
	}
	if err := s.DeleteEndpoint(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindEndpointByID(ctx, e.ID)
	wantCode(t, err, fax.ECodeNotFound)
	wantCode(t, s.DeleteEndpoint(ctx, e.ID), fax.ECodeNotFound)
}
