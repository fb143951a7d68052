package client_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/faxgate/faxgate/client"
)

// TestClientMaxAttempts: SendRequest.MaxAttempts reaches the gateway in
// either encoding (a multipart field, a JSON number) and comes back on the
// fax.
func TestClientMaxAttempts(t *testing.T) {
	ctx := testContext(t)
	c := newAdmin(t)
	doc := []byte("Redial me.\n")
	f, err := c.SendFax(ctx, client.SendRequest{To: "+15551230200", Document: bytes.NewReader(doc), Filename: "r.txt", MaxAttempts: 4})
	if err != nil || f.MaxAttempts != 4 {
		t.Fatalf("multipart: got %+v %v, want max_attempts 4", f, err)
	}
	docSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(doc)
	}))
	defer docSrv.Close()
	f, err = c.SendFax(ctx, client.SendRequest{To: "+15551230201", ContentURL: docSrv.URL + "/r.txt", MaxAttempts: 2})
	if err != nil || f.MaxAttempts != 2 {
		t.Fatalf("JSON: got %+v %v, want max_attempts 2", f, err)
	}
	if _, err := c.SendFax(ctx, client.SendRequest{To: "+15551230202", Document: bytes.NewReader(doc), Filename: "r.txt", MaxAttempts: 11}); err == nil {
		t.Fatal("max_attempts 11 accepted")
	}
}
