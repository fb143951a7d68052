package api_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/api"
	"github.com/faxgate/faxgate/internal/blob"
	"github.com/faxgate/faxgate/internal/fax"
)

// newDeleteEnv is a handler env whose documents live under a directory
// the test can read, so that it sees a deleted file gone from disk.
func newDeleteEnv(t *testing.T) (*handlerEnv, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "docs")
	blobs, err := blob.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	return newHandlerEnv(t, func(o *api.Options) { o.Blobs = blobs }), root
}

// sentFinal sends a fax and cancels it, so that it is final, and returns
// it with the path of its document file, checked present.
func sentFinal(t *testing.T, e *handlerEnv, root, to string) (*fax.Fax, string) {
	t.Helper()
	id := e.send(to).ID
	if _, err := e.st.CancelFax(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	f, err := e.st.FindFaxByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, filepath.FromSlash(f.DocumentKey))
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("document file before delete: %v", err)
	}
	return f, file
}

func TestFaxDocumentDelete(t *testing.T) {
	t.Parallel()
	e, root := newDeleteEnv(t)
	f, file := sentFinal(t, e, root, "+15551234567")
	want(t, e.do(handlerAdminKey, "GET", "/v1/faxes/"+f.ID+"/document", "", nil), http.StatusOK, nil)

	reader := e.key(fax.ScopeFaxRead, fax.ScopeFaxSend)
	want(t, e.do(reader, "DELETE", "/v1/faxes/"+f.ID+"/document", "", nil), http.StatusForbidden, nil)

	deleter := e.key(fax.ScopeFaxDelete)
	want(t, e.do(deleter, "DELETE", "/v1/faxes/"+f.ID+"/document", "", nil), http.StatusNoContent, nil)
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("document file after delete: got %v, want not exist", err)
	}
	want(t, e.do(handlerAdminKey, "GET", "/v1/faxes/"+f.ID+"/document", "", nil), http.StatusGone, nil)
	// The fax stays, marked; a second call is a no-op.
	want(t, e.do(handlerAdminKey, "GET", "/v1/faxes/"+f.ID, "", nil), http.StatusOK, nil)
	want(t, e.do(deleter, "DELETE", "/v1/faxes/"+f.ID+"/document", "", nil), http.StatusNoContent, nil)
	want(t, e.do(deleter, "DELETE", "/v1/faxes/fax_nope/document", "", nil), http.StatusNotFound, nil)

	// A fax not yet sent keeps its document.
	queued := e.send("+15551234568")
	want(t, e.do(deleter, "DELETE", "/v1/faxes/"+queued.ID+"/document", "", nil), http.StatusConflict, nil)

	entries := e.json("GET", "/v1/audit?action=document.delete", nil).Body.String()
	if !strings.Contains(entries, f.ID) {
		t.Errorf("audit: got %s, want an entry for %s", entries, f.ID)
	}
}

func TestFaxDelete(t *testing.T) {
	t.Parallel()
	e, root := newDeleteEnv(t)
	want(t, e.json("POST", "/v1/webhook-endpoints", map[string]any{"url": "https://hooks.example/fax"}), http.StatusCreated, nil)
	f, file := sentFinal(t, e, root, "+15557654321")

	reader := e.key(fax.ScopeFaxRead, fax.ScopeFaxSend)
	want(t, e.do(reader, "DELETE", "/v1/faxes/"+f.ID, "", nil), http.StatusForbidden, nil)

	queued := e.send("+15557654322")
	deleter := e.key(fax.ScopeFaxDelete)
	var conflict struct {
		Error struct {
			Code      string `json:"code"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	want(t, e.do(deleter, "DELETE", "/v1/faxes/"+queued.ID, "", nil), http.StatusConflict, &conflict)
	if conflict.Error.Code != "conflict" || conflict.Error.RequestID == "" {
		t.Errorf("409 body: got %+v, want code conflict with a request id", conflict.Error)
	}

	want(t, e.do(deleter, "DELETE", "/v1/faxes/"+f.ID, "", nil), http.StatusNoContent, nil)
	want(t, e.do(handlerAdminKey, "GET", "/v1/faxes/"+f.ID, "", nil), http.StatusNotFound, nil)
	want(t, e.do(handlerAdminKey, "GET", "/v1/faxes/"+f.ID+"/document", "", nil), http.StatusNotFound, nil)
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("document file after delete: got %v, want not exist", err)
	}
	ds := e.json("GET", "/v1/deliveries?limit=100", nil).Body.String()
	if strings.Contains(ds, f.ID) {
		t.Errorf("deliveries after delete still name the fax: %s", ds)
	}
	want(t, e.do(deleter, "DELETE", "/v1/faxes/"+f.ID, "", nil), http.StatusNotFound, nil)

	entries := e.json("GET", "/v1/audit?action=fax.delete", nil).Body.String()
	if !strings.Contains(entries, f.ID) {
		t.Errorf("audit: got %s, want an entry for %s", entries, f.ID)
	}
	if strings.Contains(entries, "7654321") || (f.From != "" && strings.Contains(entries, f.From)) {
		t.Errorf("audit entry names a number: %s", entries)
	}
}
