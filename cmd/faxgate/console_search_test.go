package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestConsoleFaxSearch: the outbox's number search is the API's to filter
// and the inbox's its from filter, so it finds a fax beyond the first page
// of the list; a number that is not E.164 is refused on the page.
func TestConsoleFaxSearch(t *testing.T) {
	t.Parallel()
	g := startGateway(t, withEnv("FAXGATE_SIMULATOR_PAGE_DELAY", "1h"), withEnv("FAXGATE_SHUTDOWN_TIMEOUT", "1s"))
	old := g.send("+15551230001", textDoc)
	for i := 0; i < 50; i++ { // one more page than the console reads
		g.send("+15551230002", textDoc)
	}
	var in faxObj
	if code := g.do("POST", "/v1/simulator/inbound", map[string]any{"from": "+15551112222", "to": "+15551230001", "pages": 1}, &in); code != http.StatusCreated {
		t.Fatalf("receive: got %d, want 201", code)
	}
	b := &browser{t: t, g: g}
	b.signIn(adminKey)

	for _, tc := range []struct {
		query         string
		want, wantNot []string
	}{
		{"direction=outbound&q=" + url.QueryEscape("+1 555 123 0001"), []string{old.ID}, []string{in.ID}},
		{"direction=inbound&q=%2B15551112222", []string{in.ID}, []string{old.ID}},
		// The inbox searches the sender, not the number faxed to.
		{"direction=inbound&q=%2B15551230001", nil, []string{in.ID}},
	} {
		resp, body := b.req("GET", "/console/faxes?"+tc.query, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: got %d, want 200", tc.query, resp.StatusCode)
			continue
		}
		for _, id := range tc.want {
			if !strings.Contains(body, id) {
				t.Errorf("%s: %s not listed", tc.query, id)
			}
		}
		for _, id := range tc.wantNot {
			if strings.Contains(body, id) {
				t.Errorf("%s: %s listed, want it left out", tc.query, id)
			}
		}
	}
	// The unfiltered outbox is one page of 50 without the oldest fax.
	if _, body := b.req("GET", "/console/faxes?direction=outbound", nil, nil); !strings.Contains(body, "Older faxes") || strings.Contains(body, old.ID) {
		t.Errorf("outbox: want a first page of 50 with a pager, without the oldest fax")
	}
	resp, body := b.req("GET", "/console/faxes?direction=outbound&q=5551230001", nil, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `class="error"`) || !strings.Contains(body, "Number: number must start with") {
		t.Errorf("not E.164: got %d, want 400 with the error shown", resp.StatusCode)
	}
}
