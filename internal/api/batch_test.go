package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/blob"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/sqlite"
)

// newBatchServer is newLimitedServer that also returns its documents'
// directory, so that a test can see that a refused send leaves no file.
func newBatchServer(t *testing.T, opts Options) (http.Handler, *sqlite.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	docs := filepath.Join(dir, "docs")
	blobs, err := blob.NewDir(docs)
	if err != nil {
		t.Fatal(err)
	}
	opts.Store, opts.Blobs, opts.AdminKeys = st, blobs, []string{testAdminKey}
	opts.DefaultProvider = "simulator"
	opts.PrepareDocument = func(_ context.Context, files [][]byte) (Document, error) {
		return Document{Bytes: files[0], MIME: "application/pdf", Pages: 1}, nil
	}
	var ids fax.IDGen
	return WithRequestID(New(opts), &ids, opts.Now), st, docs
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

type batchAnswer struct {
	BatchID string `json:"batch_id"`
	Data    []struct {
		ID, To, Status string
		BatchID        string `json:"batch_id"`
		DocumentSHA256 string `json:"document_sha256"`
	} `json:"data"`
}

func jsonSend(to any) []byte {
	b, _ := json.Marshal(map[string]any{"to": to, "content_base64": "JVBERi0xLjQgdGVzdA==", "filename": "a.pdf"})
	return b
}

// TestSendBatch: to as a JSON array or repeated in multipart makes one fax
// per number under one batch_id, answered with the batch; a single to
// keeps the single fax answer without batch_id.
func TestSendBatch(t *testing.T) {
	h, st, docs := newBatchServer(t, Options{})
	want := []string{"+15551230001", "+15551230002", "+15551230003"}
	rec := doRequest(h, testAdminKey, "POST", "/v1/faxes", "application/json", jsonSend([]string{"+1 555 123 0001", "+15551230002", "+15551230003"}))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("JSON batch: got %d %s, want 202", rec.Code, rec.Body)
	}
	var b batchAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || !strings.HasPrefix(b.BatchID, fax.PrefixBatch) || len(b.Data) != 3 {
		t.Fatalf("JSON batch: got %s (%v), want batch_id and 3 faxes", rec.Body, err)
	}
	seen := map[string]bool{}
	for i, f := range b.Data {
		if f.To != want[i] || f.BatchID != b.BatchID || f.Status != "queued" || seen[f.ID] || f.DocumentSHA256 == "" {
			t.Errorf("fax %d: got %+v, want a queued fax of its own to %s in %s", i, f, want[i], b.BatchID)
		}
		seen[f.ID] = true
	}
	if n := countFiles(t, docs); n != 3 {
		t.Errorf("documents stored: got %d, want one per fax", n)
	}
	list := doRequest(h, testAdminKey, "GET", "/v1/faxes?batch_id="+b.BatchID, "", nil)
	var l struct{ Data []struct{ ID string } }
	json.Unmarshal(list.Body.Bytes(), &l)
	if list.Code != 200 || len(l.Data) != 3 || l.Data[0].ID != b.Data[2].ID {
		t.Errorf("list by batch_id: got %d %s, want the 3, newest first", list.Code, list.Body)
	}

	ct, body := multipartBody([][2]string{{"to", "+15551230004"}, {"to", "+15551230005"}})
	rec = doRequest(h, testAdminKey, "POST", "/v1/faxes", ct, body)
	b = batchAnswer{}
	if json.Unmarshal(rec.Body.Bytes(), &b); rec.Code != 202 || len(b.Data) != 2 || b.Data[1].To != "+15551230005" {
		t.Errorf("multipart batch: got %d %s, want 202 with 2 faxes", rec.Code, rec.Body)
	}

	rec = doRequest(h, testAdminKey, "POST", "/v1/faxes", "application/json", jsonSend([]string{"+15551230006"}))
	b = batchAnswer{}
	if json.Unmarshal(rec.Body.Bytes(), &b); rec.Code != 202 || b.BatchID == "" || len(b.Data) != 1 {
		t.Errorf("one-element array: got %d %s, want a batch of one", rec.Code, rec.Body)
	}

	for _, body := range [][]byte{jsonSend("+15551230007")} {
		rec = doRequest(h, testAdminKey, "POST", "/v1/faxes", "application/json", body)
		var one map[string]any
		json.Unmarshal(rec.Body.Bytes(), &one)
		if _, has := one["batch_id"]; rec.Code != 202 || has || one["to"] != "+15551230007" {
			t.Errorf("single to: got %d %s, want the fax object without batch_id", rec.Code, rec.Body)
		}
	}
	if n := countFaxes(t, st); n != 7 {
		t.Errorf("got %d faxes, want 7", n)
	}
}

// TestSendBatchRefusedWhole: an invalid or repeated number anywhere, or too
// many numbers, refuses the whole send with 400 naming the problem; no fax
// and no document is left.
func TestSendBatchRefusedWhole(t *testing.T) {
	h, st, docs := newBatchServer(t, Options{MaxRecipients: 3})
	for _, tc := range []struct {
		name string
		to   any
		msg  string
	}{
		{"invalid second", []string{"+15551230001", "5551230002", "+15551230003"}, "to[1]"},
		{"invalid last", []string{"+15551230001", "+15551230002", "+1555"}, "to[2]"},
		{"repeated", []string{"+15551230001", "+1 555 123 0001"}, "to[1] repeats to[0]"},
		{"too many", []string{"+15551230001", "+15551230002", "+15551230003", "+15551230004"}, "at most 3"},
		{"empty", []string{}, "at least one"},
		{"not strings", []int{1, 2}, "to must be"},
	} {
		rec := doRequest(h, testAdminKey, "POST", "/v1/faxes", "application/json", jsonSend(tc.to))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: got %d %s, want 400", tc.name, rec.Code, rec.Body)
			continue
		}
		if code, msg := errorOf(t, rec); code != "invalid" || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: got %q %q, want invalid naming %q", tc.name, code, msg, tc.msg)
		}
	}
	ct, body := multipartBody([][2]string{{"to", "+15551230001"}, {"to", "nope"}})
	if rec := doRequest(h, testAdminKey, "POST", "/v1/faxes", ct, body); rec.Code != http.StatusBadRequest {
		t.Errorf("multipart with an invalid number: got %d %s, want 400", rec.Code, rec.Body)
	}
	if n := countFaxes(t, st); n != 0 {
		t.Errorf("refused batches made %d faxes, want none", n)
	}
	if n := countFiles(t, docs); n != 0 {
		t.Errorf("refused batches left %d documents, want none", n)
	}
}

// TestSendBatchIdempotent: a repeat under the same Idempotency-Key answers
// the whole first batch and makes nothing; the same key for other numbers
// is a conflict.
func TestSendBatchIdempotent(t *testing.T) {
	h, st, docs := newBatchServer(t, Options{})
	send := func(to any) (int, string, http.Header) {
		req := jsonSend(to)
		r := doRequestHeader(h, "POST", "/v1/faxes", req, "Idempotency-Key", "batch-1")
		return r.Code, r.Body.String(), r.Header()
	}
	code, first, _ := send([]string{"+15551230001", "+15551230002"})
	if code != 202 {
		t.Fatalf("first: got %d %s", code, first)
	}
	code, again, hdr := send([]string{"+15551230001", "+15551230002"})
	if code != 202 || again != first || hdr.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeat: got %d %s (replayed %q), want the first answer %s", code, again, hdr.Get("Idempotent-Replayed"), first)
	}
	for _, to := range []any{[]string{"+15551230001"}, "+15551230001", []string{"+15551230002", "+15551230001"}} {
		if code, body, _ := send(to); code != http.StatusConflict {
			t.Errorf("same key, to %v: got %d %s, want 409", to, code, body)
		}
	}
	if n := countFaxes(t, st); n != 2 {
		t.Errorf("got %d faxes, want the first batch's 2", n)
	}
	if n := countFiles(t, docs); n != 2 {
		t.Errorf("got %d documents, want the first batch's 2", n)
	}
}

func doRequestHeader(h http.Handler, method, path string, body []byte, name, value string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	req.Header.Set(name, value)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestFaxListFilters: the new filters parse and refuse bad values with 400
// naming them; unknown parameters stay refused.
func TestFaxListFilters(t *testing.T) {
	h, _, _ := newBatchServer(t, Options{})
	doRequest(h, testAdminKey, "POST", "/v1/faxes", "application/json", jsonSend([]string{"+15551230001", "+15551230002"}))
	doRequest(h, testAdminKey, "POST", "/v1/faxes", "application/json", jsonSend("+15551230003"))
	for _, tc := range []struct {
		query string
		code  int
		n     int
		name  string
	}{
		{"provider=simulator", 200, 3, ""},
		{"provider=phaxio", 200, 0, ""},
		{"provider=simulator&to=%2B15551230003&direction=outbound&status=queued", 200, 1, ""},
		{"created_after=2000-01-01T00:00:00Z&created_before=2100-01-01T00:00:00%2B02:00", 200, 3, ""},
		{"created_after=2100-01-01T00:00:00Z", 200, 0, ""},
		{"created_before=2000-01-01T00:00:00.5Z", 200, 0, ""},
		{"created_after=yesterday", 400, 0, "created_after"},
		{"created_before=2026-13-01T00:00:00Z", 400, 0, "created_before"},
		{"created_after=", 400, 0, "created_after"},
		{"batch_id=fax_123", 400, 0, "batch_id"},
		{"batch_id=bat_unknown", 200, 0, ""},
		{"provider=", 400, 0, "provider"},
		{"created=2026-01-01T00:00:00Z", 400, 0, "created"},
		{"provider=simulator&provider=phaxio", 400, 0, "provider"},
	} {
		rec := doRequest(h, testAdminKey, "GET", "/v1/faxes?"+tc.query, "", nil)
		if rec.Code != tc.code {
			t.Errorf("%s: got %d %s, want %d", tc.query, rec.Code, rec.Body, tc.code)
			continue
		}
		if tc.code != 200 {
			if code, msg := errorOf(t, rec); code != "invalid" || !strings.Contains(msg, tc.name) {
				t.Errorf("%s: got %q %q, want invalid naming %s", tc.query, code, msg, tc.name)
			}
			continue
		}
		var l struct{ Data []json.RawMessage }
		if json.Unmarshal(rec.Body.Bytes(), &l); len(l.Data) != tc.n {
			t.Errorf("%s: got %d faxes, want %d", tc.query, len(l.Data), tc.n)
		}
	}
}
