package fax_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

func ptr[T any](v T) *T { return &v }

func TestNewEndpoint(t *testing.T) {
	t.Parallel()
	rules := fax.EndpointRules{Formats: []string{fax.FormatJSON, fax.FormatPhaxio, fax.FormatGoFax}}
	tests := []struct {
		name    string
		change  fax.EndpointChange
		wantErr string // message; "" for valid
	}{
		{"url only", fax.EndpointChange{URL: ptr(" https://a.example/h ")}, ""},
		{"everything", fax.EndpointChange{URL: ptr("https://a.example/h"), Events: ptr([]string{"fax.sent", "fax.sent", "fax.failed"}),
			Inflight: ptr(true), Format: ptr("phaxio"), Numbers: ptr([]string{"+1 555 123 4567", "+15551234567"}),
			Description: ptr("d"), APIVersion: ptr(fax.APIVersion), Enabled: ptr(true)}, ""},
		{"no url", fax.EndpointChange{}, "url is required"},
		{"created disabled", fax.EndpointChange{URL: ptr("https://a.example/h"), Enabled: ptr(false)}, "a new endpoint is enabled; disable it afterwards with PATCH"},
		{"unknown event", fax.EndpointChange{URL: ptr("https://a.example/h"), Events: ptr([]string{"fax.nope"})}, `events: unknown event type "fax.nope"`},
		{"too many events", fax.EndpointChange{URL: ptr("https://a.example/h"), Events: ptr(make([]string, 33))}, "events: too many"},
		{"unknown format", fax.EndpointChange{URL: ptr("https://a.example/h"), Format: ptr("xml")}, "format must be one of json, phaxio, gofax"},
		{"bad number", fax.EndpointChange{URL: ptr("https://a.example/h"), Numbers: ptr([]string{"12"})}, "numbers: number must start with + and the country code (E.164), such as +15551234567"},
		{"too many numbers", fax.EndpointChange{URL: ptr("https://a.example/h"), Numbers: ptr(make([]string, 1001))}, "numbers: at most 1000"},
		{"long description", fax.EndpointChange{URL: ptr("https://a.example/h"), Description: ptr(strings.Repeat("d", 501))}, "description: at most 500 characters"},
		{"other api version", fax.EndpointChange{URL: ptr("https://a.example/h"), APIVersion: ptr("2020-01-01")}, "api_version must be " + fax.APIVersion},
		{"gofax inflight", fax.EndpointChange{URL: ptr("https://a.example/h"), Format: ptr("gofax"), Inflight: ptr(true)}, "the gofax format has no inflight events; set inflight to false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := fax.NewEndpoint(&tt.change, rules, "whsec_x", "key_1")
			if tt.wantErr != "" {
				if fax.ErrorCode(err) != fax.ECodeInvalid || fax.ErrorMessage(err) != tt.wantErr {
					t.Errorf("got %v (%s), want invalid %q", err, fax.ErrorCode(err), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if !e.Enabled || e.Secret != "whsec_x" || e.OwnerKeyID != "key_1" || e.URL != "https://a.example/h" || e.APIVersion != fax.APIVersion {
				t.Errorf("got %+v", e)
			}
			if len(e.Events) > 0 && !slices.Equal(e.Events, []fax.EventType{fax.EventFaxSent, fax.EventFaxFailed}) {
				t.Errorf("events %v, want duplicates dropped", e.Events)
			}
			if len(e.Numbers) > 0 && !slices.Equal(e.Numbers, []string{"+15551234567"}) {
				t.Errorf("numbers %v, want normalised, duplicates dropped", e.Numbers)
			}
		})
	}
}

func TestEndpointChangeApply(t *testing.T) {
	t.Parallel()
	refused := fax.Errorf(fax.ECodeInvalid, "url: not here")
	rules := fax.EndpointRules{CheckURL: func(u string) error {
		if u != "https://ok.example/h" {
			return refused
		}
		return nil
	}}
	e := &fax.Endpoint{URL: "https://old.example/h", Format: fax.FormatJSON, Enabled: true}
	if err := (&fax.EndpointChange{URL: ptr("https://bad.example/h")}).Apply(e, rules); !errors.Is(err, refused) {
		t.Errorf("a refused url: got %v, want the check's error", err)
	}
	if err := (&fax.EndpointChange{URL: ptr(" https://ok.example/h ")}).Apply(e, rules); err != nil || e.URL != "https://ok.example/h" {
		t.Errorf("an allowed url: got %v, url %q", err, e.URL)
	}
	// Without a check the url is taken as it is: it was checked before the
	// store's lock.
	if err := (&fax.EndpointChange{URL: ptr("https://bad.example/h")}).Apply(e, fax.EndpointRules{}); err != nil || e.URL != "https://bad.example/h" {
		t.Errorf("no check: got %v, url %q", err, e.URL)
	}
	// Only json without a list of formats.
	if err := (&fax.EndpointChange{Format: ptr("phaxio")}).Apply(e, fax.EndpointRules{}); fax.ErrorMessage(err) != "format must be one of json" {
		t.Errorf("phaxio without formats: got %v", err)
	}
	if err := (&fax.EndpointChange{Enabled: ptr(false)}).Apply(e, rules); err != nil || e.Enabled || e.DisabledReason != "disabled by a user" {
		t.Errorf("disable: got %v, %+v", err, e)
	}
	if err := (&fax.EndpointChange{Enabled: ptr(true)}).Apply(e, rules); err != nil || !e.Enabled || e.DisabledReason != "" {
		t.Errorf("enable: got %v, %+v", err, e)
	}
	// An existing gofax endpoint cannot be made inflight.
	g := &fax.Endpoint{Format: fax.FormatGoFax, Enabled: true}
	if err := (&fax.EndpointChange{Inflight: ptr(true)}).Apply(g, rules); fax.ErrorCode(err) != fax.ECodeInvalid {
		t.Errorf("inflight on gofax: got %v, want invalid", err)
	}
}
