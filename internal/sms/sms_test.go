package sms_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/gofax"
	"github.com/faxgate/faxgate/internal/sms"
	"github.com/faxgate/faxgate/internal/sqlite"
)

// newService returns a Service on a new SQLite store whose carrier is GoFax
// against a loopback fake that takes every SMS except to +61400000999,
// which it refuses. apply nil applies updates to the store.
func newService(t *testing.T, apply func(context.Context, *fax.Update) error) (*sms.Service, *sqlite.Store) {
	t.Helper()
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ To []string }
		json.NewDecoder(r.Body).Decode(&req)
		if len(req.To) == 1 && req.To[0] == "61400000999" {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"Success": false, "Message": "Invalid mobile number"})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Success": true, "Message": nil, "Response": 52410901})
	}))
	t.Cleanup(fake.Close)
	g, err := gofax.New(gofax.Config{Tokens: []string{"tok"}, BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "faxgate.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if apply == nil {
		apply = func(ctx context.Context, u *fax.Update) error {
			_, err := st.ApplyUpdate(ctx, u)
			return err
		}
	}
	return sms.New(sms.Options{Store: st, Sender: g, Carrier: gofax.Name, Label: "GoFax", ApplyFunc: apply}), st
}

func TestSendHandsToCarrier(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, nil)
	got, err := s.Send(context.Background(), gofax.Name, &fax.SMS{To: "+61412121212", TextLength: 5, Provider: gofax.Name}, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != fax.StatusQueued || got.ProviderSMSID != "52410901" {
		t.Errorf("got %+v, want queued with GoFax's id 52410901", got)
	}
}

// TestSendRefused: a refusal fails the record and is a 422 with the
// carrier's message.
func TestSendRefused(t *testing.T) {
	t.Parallel()
	var id string
	var st *sqlite.Store
	s, st := newService(t, func(ctx context.Context, u *fax.Update) error {
		id = u.FaxID
		_, err := st.ApplyUpdate(ctx, u)
		return err
	})
	_, err := s.Send(context.Background(), gofax.Name, &fax.SMS{To: "+61400000999", TextLength: 1, Provider: gofax.Name}, "x")
	if fax.ErrorCode(err) != fax.ECodeUnprocessable || !strings.Contains(fax.ErrorMessage(err), "Invalid mobile number") {
		t.Fatalf("got %v, want unprocessable with GoFax's message", err)
	}
	m, err := st.FindSMSByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != fax.StatusFailed {
		t.Errorf("record %+v, want failed", m)
	}
}

// TestSendRefusalNotRecorded: when the refusal cannot be recorded, Send
// says so instead of reporting the refusal as if the record said failed
// (the error used to be dropped, leaving the SMS queued unseen).
func TestSendRefusalNotRecorded(t *testing.T) {
	t.Parallel()
	down := fax.Errorf(fax.ECodeUnavailable, "the database is unavailable")
	s, _ := newService(t, func(context.Context, *fax.Update) error { return down })
	for _, to := range []string{"+61400000999", "+6140"} {
		_, err := s.Send(context.Background(), gofax.Name, &fax.SMS{To: to, TextLength: 1, Provider: gofax.Name}, "x")
		if !errors.Is(err, down) {
			t.Errorf("to %s: got %v, want the recording error", to, err)
		}
	}
}

func TestProvider(t *testing.T) {
	t.Parallel()
	s, _ := newService(t, nil)
	for _, p := range []string{"", gofax.Name} {
		if got, err := s.Provider(p); err != nil || got != gofax.Name {
			t.Errorf("Provider(%q) = %q, %v; want gofax", p, got, err)
		}
	}
	if _, err := s.Provider("phaxio"); fax.ErrorCode(err) != fax.ECodeUnprocessable {
		t.Errorf("Provider(phaxio): got %v, want unprocessable", err)
	}
}
