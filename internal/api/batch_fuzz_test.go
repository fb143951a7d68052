package api

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// FuzzRecipients: any JSON value for a send's to decodes without a panic,
// and what ParseRecipients accepts is at most the limit of distinct valid
// E.164 numbers, one for each given.
func FuzzRecipients(f *testing.F) {
	for _, s := range []string{`"+15551234567"`, `["+15551234567","+1 555 765 4321"]`, `[]`, `null`, `["+1555","x"]`, `[1,2]`, `{"a":1}`, `["+15551234567","+15551234567"]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var req struct {
			To recipients `json:"to"`
		}
		if json.Unmarshal([]byte(`{"to":`+s+`}`), &req) != nil {
			return
		}
		got, err := fax.ParseRecipients(req.To.numbers, 5)
		if err != nil {
			if fax.ErrorCode(err) != fax.ECodeInvalid {
				t.Fatalf("ParseRecipients(%q): got %v, want an invalid error", req.To.numbers, err)
			}
			return
		}
		if len(got) != len(req.To.numbers) || len(got) == 0 || len(got) > 5 {
			t.Fatalf("ParseRecipients(%q): got %d numbers", req.To.numbers, len(got))
		}
		for i, n := range got {
			if p, err := fax.ParseNumber(n); err != nil || string(p) != n || slices.Contains(got[:i], n) {
				t.Fatalf("ParseRecipients(%q): %q is not a new E.164 number", req.To.numbers, n)
			}
		}
	})
}

// FuzzFaxListQuery: any query string given to the list's filter table
// either sets a filter or is refused as invalid, never a panic.
func FuzzFaxListQuery(f *testing.F) {
	for _, s := range []string{"provider=phaxio&batch_id=bat_1", "created_after=2026-01-01T00:00:00Z", "created_before=x", "to=%2B15551234567&status=sent", "limit=0", "direction="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		var fl fax.FaxFilter
		for _, p := range faxListParams {
			if q.Has(p.name) {
				if err := p.parse(q.Get(p.name), &fl); err != nil && fax.ErrorCode(err) != fax.ECodeInvalid {
					t.Fatalf("%s=%q: got %v, want nil or an invalid error", p.name, q.Get(p.name), err)
				}
			}
		}
	})
}
