package storetest

import (
	"context"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

func testAPIKeys(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	k, err := s.CreateAPIKey(ctx, &fax.APIKey{Name: "ci", Hash: "h1", Prefix: "fgk_abc", Scopes: []fax.Scope{fax.ScopeFaxRead}})
	if err != nil || k.ID == "" {
		t.Fatal(err)
	}
	got, err := s.FindAPIKeyByHash(ctx, "h1")
	if err != nil || got.ID != k.ID || len(got.Scopes) != 1 || got.Scopes[0] != fax.ScopeFaxRead {
		t.Fatalf("got %+v %v", got, err)
	}
	_, err = s.FindAPIKeyByHash(ctx, "nope")
	wantCode(t, err, fax.ECodeUnauthorized)
	list, _ := s.FindAPIKeys(ctx)
	if len(list) != 1 {
		t.Errorf("got %d keys", len(list))
	}
	if err := s.DeleteAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindAPIKeyByHash(ctx, "h1")
	wantCode(t, err, fax.ECodeUnauthorized)
	wantCode(t, s.DeleteAPIKey(ctx, k.ID), fax.ECodeNotFound)
}

func testSetting(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	a, err := s.Setting(ctx, "x", func() string { return "first" })
	if err != nil || a != "first" {
		t.Fatal(a, err)
	}
	b, _ := s.Setting(ctx, "x", func() string { return "second" })
	if b != "first" {
		t.Errorf("got %q, want the first value kept", b)
	}
}
