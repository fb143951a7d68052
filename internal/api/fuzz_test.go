package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/faxgate/faxgate/internal/api"
	"github.com/faxgate/faxgate/internal/blob"
	"github.com/faxgate/faxgate/internal/document"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/sqlite"
)

// newTestServer builds an API over a real SQLite store in a temp dir.
func newTestServer(tb testing.TB) http.Handler {
	dir := tb.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	blobs, err := blob.NewDir(filepath.Join(dir, "docs"))
	if err != nil {
		tb.Fatal(err)
	}
	var ids fax.IDGen
	s := api.New(api.Options{
		Store: st, Blobs: blobs, AdminKeys: []string{"fuzz-admin-key-0123456789"}, MaxDocument: 64 << 10,
		DefaultProvider: "simulator",
		PrepareDocument: func(_ context.Context, files [][]byte) (api.Document, error) {
			b := files[0]
			info, err := document.Inspect(b)
			if err != nil {
				return api.Document{}, err
			}
			return api.Document{Bytes: b, MIME: info.Type.MIME(), Pages: info.Pages}, nil
		},
		NewSecret: func() string { return "whsec_c2VjcmV0c2VjcmV0c2VjcmV0" },
		CheckWebhookURL: func(ctx context.Context, u string) error {
			if len(u) < 8 || u[:8] != "https://" {
				return fax.Errorf(fax.ECodeInvalid, "want https")
			}
			return nil
		},
	})
	return api.WithRequestID(s, &ids, nil)
}

// FuzzAPIRequests throws arbitrary bodies and content types at the routes
// that parse request bodies: none may panic or answer 500.
func FuzzAPIRequests(f *testing.F) {
	seeds := []struct {
		path, ct, body string
	}{
		{"/v1/faxes", "application/json", `{"to":"+15551234567","content_base64":"JVBERi0xLjQK"}`},
		{"/v1/faxes", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n+15551234567\r\n--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nhello\r\n--x--\r\n"},
		{"/v1/webhook-endpoints", "application/json", `{"url":"https://example.com/h","events":["fax.sent"],"numbers":["+15551234567"]}`},
		{"/v1/api-keys", "application/json", `{"name":"n","scopes":["fax:read"]}`},
		{"/v1/simulator/inbound", "application/json", `{"from":"+15551112222","to":"+15553334444","pages":2}`},
		{"/v1/faxes", "text/plain", "hello"},
	}
	for _, s := range seeds {
		f.Add(s.path, s.ct, []byte(s.body))
	}
	h := newTestServer(f)
	paths := map[string]bool{"/v1/faxes": true, "/v1/webhook-endpoints": true, "/v1/api-keys": true, "/v1/simulator/inbound": true}
	f.Fuzz(func(t *testing.T, path, ct string, body []byte) {
		if !paths[path] {
			path = "/v1/faxes"
		}
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer fuzz-admin-key-0123456789")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
			t.Fatalf("POST %s (%q, %q): got %d %s", path, ct, body, w.Code, w.Body)
		}
	})
}
