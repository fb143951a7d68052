package sinch

import (
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

func TestReadResult(t *testing.T) {
	const id = "01JPBCH4K6N8Q0S2V4X6Z8B0D9"
	for _, tt := range []struct {
		name, body string
		want       fax.Status // "" for no update
		err        bool
	}{
		{"completed", `{"id":"` + id + `","direction":"OUTBOUND","status":"COMPLETED","numberOfPages":2}`, fax.StatusSent, false},
		{"failure", `{"id":"` + id + `","status":"FAILURE","errorType":"LINE_ERROR","errorMessage":"busy"}`, fax.StatusFailed, false},
		{"in progress", `{"id":"` + id + `","status":"IN_PROGRESS"}`, "", false},
		{"queued", `{"id":"` + id + `","status":"QUEUED"}`, "", false},
		{"other fax", `{"id":"01JPBCH4K6N8Q0S2V4X6Z8B0DA","status":"COMPLETED"}`, "", true},
		{"html", `<html>`, "", true},
	} {
		u, err := readResult([]byte(tt.body), "fax_1", id)
		if (err != nil) != tt.err {
			t.Errorf("%s: got error %v, want error %v", tt.name, err, tt.err)
			continue
		}
		got := fax.Status("")
		if u != nil {
			got = u.Status
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
		if u != nil && u.EventKey != eventKey(id, eventCompleted, map[fax.Status]string{fax.StatusSent: "COMPLETED", fax.StatusFailed: "FAILURE"}[got]) {
			t.Errorf("%s: event key %q is not the callback's", tt.name, u.EventKey)
		}
	}
}

func FuzzReadResult(f *testing.F) {
	f.Add([]byte(`{"id":"abc","status":"COMPLETED","numberOfPages":2}`))
	f.Add([]byte(`{"id":"abc","status":"FAILURE","errorCode":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := readResult(b, "fax_1", "abc")
		if err == nil && u != nil && !u.Status.Final() {
			t.Fatalf("a non-final update %+v", u)
		}
	})
}
