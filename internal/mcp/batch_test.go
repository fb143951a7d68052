package mcp_test

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/faxgate/faxgate/client"
	"github.com/faxgate/faxgate/internal/mcp"
)

// TestSendFaxBatch: send_fax with recipients sends one request with to
// repeated and returns the batch, numbers masked without fax:read;
// list_faxes passes the new filters on.
func TestSendFaxBatch(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var sent []string
	var query string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == "GET" && r.URL.Path == "/v1/faxes" {
			mu.Lock()
			query = r.URL.RawQuery
			mu.Unlock()
			io.WriteString(w, `{"data":[],"next_cursor":null}`)
			return
		}
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(r.Body, params["boundary"])
		var data []string
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(p)
			if p.FormName() == "to" {
				mu.Lock()
				sent = append(sent, string(b))
				mu.Unlock()
				data = append(data, strings.Replace(faxJSON, "+15551234567", string(b), 1))
			}
		}
		w.WriteHeader(202)
		io.WriteString(w, `{"batch_id":"bat_1","data":[`+strings.Join(data, ",")+`]}`)
	}))
	t.Cleanup(api.Close)
	c, err := client.New(api.URL, "key", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := mcp.New(mcp.Options{ClientFunc: func(context.Context, http.Header) (*client.Client, bool, error) { return c, false, nil }})
	st, ct := sdk.NewInMemoryTransports()
	if _, err := srv.Connect(context.Background(), st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test"}, nil).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })

	numbers := []any{"+15557770001", "+15557770002", "+15557770003"}
	text, isErr := call(t, cs, "send_fax", map[string]any{"recipients": numbers, "text": "to three"})
	if isErr || !strings.Contains(text, `"bat_1"`) || strings.Count(text, `"fax_1"`) != 3 {
		t.Fatalf("send_fax to three: got %s, want the batch of three", text)
	}
	if strings.Contains(text, "5557770001") || !strings.Contains(text, "…0001") {
		t.Errorf("send_fax without fax:read: got %s, want the numbers masked", text)
	}
	if !slices.Equal(sent, []string{"+15557770001", "+15557770002", "+15557770003"}) {
		t.Errorf("the API got to %v, want the three numbers in order", sent)
	}
	if text, isErr := call(t, cs, "send_fax", map[string]any{"to": "+15557770004", "recipients": numbers, "text": "x"}); !isErr {
		t.Errorf("send_fax with to and recipients: got %s, want a tool error", text)
	}
	if text, isErr := call(t, cs, "list_faxes", map[string]any{"batch_id": "bat_1", "provider": "simulator", "created_after": "2026-12-01T00:00:00Z"}); isErr {
		t.Fatalf("list_faxes: got error %s", text)
	}
	for _, want := range []string{"batch_id=bat_1", "provider=simulator", "created_after=2026-12-01T00%3A00%3A00Z"} {
		if !strings.Contains(query, want) {
			t.Errorf("list_faxes asked %q, want %s in it", query, want)
		}
	}
	if text, isErr := call(t, cs, "list_faxes", map[string]any{"created_before": "last week"}); !isErr || !strings.Contains(text, "RFC 3339") {
		t.Errorf("list_faxes with a bad time: got %s, want a tool error naming RFC 3339", text)
	}
}
