package api_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// faxPage is a page of GET /v1/faxes.
type faxPage struct {
	Data       []faxBody `json:"data"`
	NextCursor *string   `json:"next_cursor"`
}

// list pages through GET /v1/faxes with query and returns the ids, newest
// first.
func (e *handlerEnv) list(query url.Values) []string {
	e.t.Helper()
	var ids []string
	for page := 0; page < 10; page++ {
		var p faxPage
		want(e.t, e.json("GET", "/v1/faxes?"+query.Encode(), nil), http.StatusOK, &p)
		for _, f := range p.Data {
			ids = append(ids, f.ID)
		}
		if p.NextCursor == nil {
			return ids
		}
		query.Set("cursor", *p.NextCursor)
	}
	e.t.Fatalf("list %v: more than 10 pages", query)
	return nil
}

func TestHandlersFaxSearch(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, nil)
	const a, b, sender = "+15551110001", "+15551110002", "+15552220000"
	var toA []string // newest first
	for _, to := range []string{a, b, a, b, a} {
		f := e.send(to)
		if to == a {
			toA = append([]string{f.ID}, toA...)
		}
	}
	r, err := e.st.ApplyUpdate(context.Background(), &fax.Update{Provider: "simulator", Kind: fax.UpdateInbound, ProviderFaxID: "in-1",
		Status: fax.StatusReceived, From: sender, To: a, Pages: 1, Document: &fax.InboundDocument{Key: "in/x.pdf", SHA256: "abc", Size: 10}})
	if err != nil || !r.Applied {
		t.Fatalf("receive: got %+v %v", r, err)
	}

	for _, tt := range []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"to", url.Values{"to": {a}}, append([]string{r.FaxID}, toA...)},
		// The number is parsed as a send parses it, separators and all.
		{"to as typed", url.Values{"to": {"+1 (555) 111-0001"}}, append([]string{r.FaxID}, toA...)},
		{"to outbound, paged", url.Values{"to": {a}, "direction": {"outbound"}, "limit": {"2"}}, toA},
		{"to inbound", url.Values{"to": {a}, "direction": {"inbound"}}, []string{r.FaxID}},
		{"to received", url.Values{"to": {a}, "status": {"received"}}, []string{r.FaxID}},
		{"from", url.Values{"from": {sender}}, []string{r.FaxID}},
		{"from and to", url.Values{"from": {sender}, "to": {b}}, nil},
		{"nobody", url.Values{"to": {"+15559999999"}}, nil},
	} {
		if got := e.list(tt.query); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}

	for _, tt := range []struct{ query, msg string }{
		{"to=5551110001", "to: number must start with +"},
		{"to=", "to: number is empty"},
		{"from=%2Babc", "from: number contains"},
		{"from=%2B1", "from: number has 1 digits"},
	} {
		wantError(t, e.json("GET", "/v1/faxes?"+tt.query, nil), http.StatusBadRequest, "invalid", tt.msg)
	}
}

// TestHandlersDeliveryEventType: GET /v1/deliveries filters by event_type
// and refuses a type the API never sends.
func TestHandlersDeliveryEventType(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, nil)
	var page struct {
		Data []struct {
			EventType string `json:"event_type"`
		} `json:"data"`
	}
	want(t, e.json("GET", "/v1/deliveries?event_type=fax.sent", nil), http.StatusOK, &page)
	for _, d := range page.Data {
		if d.EventType != "fax.sent" {
			t.Errorf("got a %s delivery, want only fax.sent", d.EventType)
		}
	}
	wantError(t, e.json("GET", "/v1/deliveries?event_type=fax.bogus", nil), http.StatusBadRequest, "invalid", "event_type")
}
