package main

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/dispatch"
	"github.com/faxgate/faxgate/internal/fax"
)

// TestCarrierRegistry: every carrier webhook route of CONTRACT.md is
// mounted whether its carrier is configured or not, with the body limit of
// what the carrier posts there; a carrier without settings is not in the
// registry and its routes refuse before the body is read, naming the
// setting to set.
func TestCarrierRegistry(t *testing.T) {
	t.Parallel()
	want := map[string]int64{ // pattern → body limit (1 document, 2 notice)
		"POST /phaxio-callback":            2,
		"POST /phaxio-inbound":             1,
		"POST /sinch-callback":             1,
		"POST /sinch-inbound":              1,
		"POST /gofax-callback":             2,
		"POST /gofax-sms-callback":         2,
		"POST /gofax-inbound":              2,
		"POST /_internal/asterisk/inbound": 2,
	}
	for _, tt := range []struct {
		name    string
		env     map[string]string
		enabled []string
		refused map[string]string // pattern → setting named in the refusal
	}{
		{"defaults", nil, []string{"phaxio", "sinch", "simulator"}, map[string]string{
			"POST /gofax-inbound": "GOFAX_TOKEN", "POST /_internal/asterisk/inbound": "ASTERISK_SPOOL_DIR"}},
		{"asterisk", map[string]string{"FAXGATE_PROVIDER": "asterisk", "ASTERISK_SPOOL_DIR": t.TempDir(), "ASTERISK_INBOUND_SECRET": "s3cret-value"},
			[]string{"phaxio", "sinch", "asterisk"}, map[string]string{"POST /gofax-callback": "GOFAX_TOKEN"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load(func(k string) string { return tt.env[k] }, "")
			if err != nil {
				t.Fatal(err)
			}
			m := &Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			c, err := m.buildCarriers()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.close)
			if len(c.byName) != len(tt.enabled) {
				t.Errorf("got %d carriers, want %v", len(c.byName), tt.enabled)
			}
			for _, name := range tt.enabled {
				if _, ok := c.byName[name]; !ok {
					t.Errorf("%s is not in the registry", name)
				}
			}
			// What the dispatcher gets is the carrier itself, with every
			// optional part (Find after a crash, result checks, cancel).
			senders := c.senders()
			for name, p := range c.byName {
				s, ok := senders[name]
				if !ok {
					t.Errorf("%s is not among the senders", name)
					continue
				}
				_, resumer := p.(dispatch.Resumer)
				if _, ok := s.(dispatch.Resumer); ok != resumer {
					t.Errorf("%s: the sender can Find: %v, the carrier: %v", name, ok, resumer)
				}
			}
			got := map[string]int64{}
			for _, rt := range c.routes(1, 2) {
				if _, dup := got[rt.Pattern]; dup {
					t.Errorf("route %s mounted twice", rt.Pattern)
				}
				got[rt.Pattern] = rt.MaxBody
				if setting, ok := tt.refused[rt.Pattern]; ok {
					r := httptest.NewRequest("POST", "/x", nil)
					_, err := rt.Preverify(r)
					if fax.ErrorCode(err) != fax.ECodeUnauthorized || !strings.Contains(fax.ErrorMessage(err), setting) {
						t.Errorf("route %s: got %v, want unauthorized naming %s", rt.Pattern, err, setting)
					}
				}
			}
			for p, limit := range want {
				if got[p] != limit {
					t.Errorf("route %s: got body limit %d, want %d", p, got[p], limit)
				}
			}
			if len(got) != len(want) {
				t.Errorf("got %d routes, want %d", len(got), len(want))
			}
		})
	}
}
