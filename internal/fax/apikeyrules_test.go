package fax_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

func TestNewAPIKey(t *testing.T) {
	t.Parallel()
	admin := &fax.APIKey{Admin: true}
	manager := &fax.APIKey{ID: "key_m", Scopes: []fax.Scope{fax.ScopeKeysManage, fax.ScopeFaxRead}}
	tests := []struct {
		name    string
		granter *fax.APIKey
		keyName string
		scopes  []string
		code    string // "" for valid
		msg     string
	}{
		{"valid", admin, " sender ", []string{"fax:send", "fax:read", "fax:send"}, "", ""},
		{"manager grants what it holds", manager, "reader", []string{"fax:read"}, "", ""},
		{"no name", admin, "  ", []string{"fax:read"}, fax.ECodeInvalid, "name is required (at most 100 characters)"},
		{"long name", admin, strings.Repeat("n", 101), []string{"fax:read"}, fax.ECodeInvalid, "name is required (at most 100 characters)"},
		{"no scopes", admin, "n", nil, fax.ECodeInvalid, "scopes is required: some of " + fax.ScopeNames()},
		{"unknown scope", admin, "n", []string{"root"}, fax.ECodeInvalid, `unknown scope "root"; want some of ` + fax.ScopeNames()},
		{"beyond the granter", manager, "n", []string{"fax:send"}, fax.ECodeForbidden, "this API key cannot grant the fax:send scope: a key may grant only scopes it holds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := fax.NewAPIKey(tt.granter, tt.keyName, tt.scopes)
			if tt.code != "" {
				if fax.ErrorCode(err) != tt.code || fax.ErrorMessage(err) != tt.msg {
					t.Errorf("got %v (%s), want %s %q", err, fax.ErrorCode(err), tt.code, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if k.Name != strings.TrimSpace(tt.keyName) || len(k.Scopes) == 0 {
				t.Errorf("got %+v", k)
			}
			for i, s := range k.Scopes {
				if slices.Contains(k.Scopes[i+1:], s) {
					t.Errorf("scope %s repeated in %v", s, k.Scopes)
				}
			}
		})
	}
}

func TestNewSMS(t *testing.T) {
	t.Parallel()
	m, err := fax.NewSMS(" +1 555 123 4567", "héllo")
	if err != nil || m.To != "+15551234567" || m.TextLength != 5 {
		t.Fatalf("got %+v, %v; want to +15551234567 and 5 characters", m, err)
	}
	if _, err := fax.NewSMS("+15551234567", strings.Repeat("é", fax.MaxSMSText)); err != nil {
		t.Errorf("text at the limit: got %v", err)
	}
	for _, tt := range []struct{ to, text, msg string }{
		{"12", "hi", "to: number must start with +"},
		{"+15551234567", " \n", "text is required, at most 1600 characters (got 2)"},
		{"+15551234567", strings.Repeat("x", fax.MaxSMSText+1), "text is required, at most 1600 characters (got 1601)"},
	} {
		if _, err := fax.NewSMS(tt.to, tt.text); fax.ErrorCode(err) != fax.ECodeInvalid || !strings.HasPrefix(fax.ErrorMessage(err), tt.msg) {
			t.Errorf("NewSMS(%q, %.10q…) = %v, want invalid %q", tt.to, tt.text, err, tt.msg)
		}
	}
}
