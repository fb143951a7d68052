package phaxio

import (
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

func TestReadResult(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       fax.Status // "" for no update
		err        bool
	}{
		{"success", `{"success":true,"data":{"id":123,"status":"success","num_pages":2}}`, fax.StatusSent, false},
		{"failure", `{"success":true,"data":{"id":"123","status":"failure","error_type":"lineError","error_message":"busy"}}`, fax.StatusFailed, false},
		{"in progress", `{"success":true,"data":{"id":123,"status":"inprogress"}}`, "", false},
		{"queued", `{"success":true,"data":{"id":123,"status":"queued"}}`, "", false},
		{"other fax", `{"success":true,"data":{"id":124,"status":"success"}}`, "", true},
		{"refused", `{"success":false,"message":"not found"}`, "", true},
		{"html", `<html>`, "", true},
	} {
		u, err := readResult([]byte(tt.body), "fax_1", "123")
		if (err != nil) != tt.err {
			t.Errorf("%s: got error %v, want error %v", tt.name, err, tt.err)
			continue
		}
		got := fax.Status("")
		if u != nil {
			got = u.Status
			if u.EventKey != eventKey("123", eventCompleted, string(map[fax.Status]string{fax.StatusSent: "success", fax.StatusFailed: "failure"}[got]), 0, 0) {
				t.Errorf("%s: event key %q is not the callback's", tt.name, u.EventKey)
			}
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func FuzzReadResult(f *testing.F) {
	f.Add([]byte(`{"success":true,"data":{"id":123,"status":"success","num_pages":2}}`))
	f.Add([]byte(`{"success":true,"data":{"id":"123","status":"failure","recipients":[{"error_type":"x"}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := readResult(b, "fax_1", "123")
		if err == nil && u != nil && !u.Status.Final() {
			t.Fatalf("a non-final update %+v", u)
		}
	})
}
