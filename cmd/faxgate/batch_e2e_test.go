package main

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// batchSend is a multipart send of textDoc to each of numbers, to repeated.
func batchSend(numbers ...string) *multipartBody {
	var mb multipartBody
	w := multipart.NewWriter(&mb.buf)
	for _, n := range numbers {
		w.WriteField("to", n)
	}
	fw, _ := w.CreateFormFile("file", "doc.txt")
	fw.Write(textDoc)
	w.Close()
	mb.ct = w.FormDataContentType()
	return &mb
}

type batchObj struct {
	BatchID string `json:"batch_id"`
	Data    []struct {
		faxObj
		BatchID string `json:"batch_id"`
	} `json:"data"`
}

// TestBatchEndToEnd: a batch of three through Phaxio (a loopback fake that
// counts what it is asked) dials each number once, each fax sent with its
// own fax.sent carrying batch_id; a batch with one invalid number makes
// nothing and dials nothing.
func TestBatchEndToEnd(t *testing.T) {
	t.Parallel()
	fake := newFakePhaxio(t, "phaxio-webhook-token")
	g := phaxioGateway(t, fake)
	r := newReceiver(t)
	g.endpoint(r, nil)
	numbers := []string{"+15552340001", "+15552340002", "+15552340003"}
	var b batchObj
	if code := g.do("POST", "/v1/faxes", batchSend(numbers...), &b); code != http.StatusAccepted || len(b.Data) != 3 || !strings.HasPrefix(b.BatchID, "bat_") {
		t.Fatalf("batch of three: got %d %+v, want 202 with three faxes", code, b)
	}
	for i, f := range b.Data {
		if f.To != numbers[i] || f.BatchID != b.BatchID {
			t.Errorf("fax %d: got %+v, want to %s in %s", i, f, numbers[i], b.BatchID)
		}
		if done := g.waitFax(f.ID); done.Status != "sent" {
			t.Errorf("fax %s: got %s, want sent", f.ID, done.Status)
		}
		ev := r.waitFor("fax.sent", f.ID)
		if !ev.Valid || ev.Data["batch_id"] != b.BatchID {
			t.Errorf("fax.sent of %s: got batch_id %v (signature valid %v), want %s", f.ID, ev.Data["batch_id"], ev.Valid, b.BatchID)
		}
	}
	var dialed []string
	for _, req := range fake.requests() {
		dialed = append(dialed, req["to"])
	}
	slices.Sort(dialed)
	if !slices.Equal(dialed, numbers) {
		t.Errorf("Phaxio was asked to fax %v, want each of %v once", dialed, numbers)
	}

	var e struct {
		Error struct{ Code, Message string }
	}
	if code := g.do("POST", "/v1/faxes", batchSend("+15552340004", "+1555234", "+15552340006"), &e); code != http.StatusBadRequest || !strings.Contains(e.Error.Message, "to[1]") {
		t.Errorf("batch with an invalid number: got %d %+v, want 400 naming to[1]", code, e)
	}
	if n := g.faxCount(t); n != 3 {
		t.Errorf("after the refused batch: got %d faxes, want the 3", n)
	}
	if n := len(fake.requests()); n != 3 {
		t.Errorf("after the refused batch: Phaxio got %d sends, want 3", n)
	}
	docs := 0
	filepath.WalkDir(g.m.Config.DataDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, "outbound") {
			docs++
		}
		return nil
	})
	if docs != 3 {
		t.Errorf("documents stored: got %d, want the batch's 3", docs)
	}
}

// TestBatchListFiltersEndToEnd lists through a running gateway by every new
// filter, on SQLite and (with FAXGATE_TEST_DATABASE_URL) PostgreSQL.
func TestBatchListFiltersEndToEnd(t *testing.T) {
	t.Parallel()
	stores := map[string][]gatewayOption{"sqlite": nil}
	if os.Getenv("FAXGATE_TEST_DATABASE_URL") != "" {
		stores["postgres"] = []gatewayOption{withEnv("FAXGATE_DATABASE_URL", freshDatabase(t))}
	}
	for name, opts := range stores {
		t.Run(name, func(t *testing.T) {
			g := startGateway(t, opts...)
			before := time.Now().UTC().Add(-time.Second).Format(time.RFC3339Nano)
			var b batchObj
			if code := g.do("POST", "/v1/faxes", map[string]any{"to": []string{"+15552350001", "+15552350002"},
				"content_base64": "aGVsbG8K", "filename": "a.txt"}, &b); code != 202 || len(b.Data) != 2 {
				t.Fatalf("JSON batch: got %d %+v", code, b)
			}
			one := g.send("+15552350003", textDoc)
			after := time.Now().UTC().Add(time.Minute).Format(time.RFC3339Nano)
			count := func(q url.Values) int {
				t.Helper()
				var l struct{ Data []faxObj }
				if code := g.do("GET", "/v1/faxes?"+q.Encode(), nil, &l); code != 200 {
					t.Fatalf("GET /v1/faxes?%s: got %d", q.Encode(), code)
				}
				return len(l.Data)
			}
			for _, tc := range []struct {
				q    url.Values
				want int
			}{
				{url.Values{"batch_id": {b.BatchID}}, 2},
				{url.Values{"batch_id": {b.BatchID}, "to": {"+15552350002"}}, 1},
				{url.Values{"provider": {"simulator"}, "direction": {"outbound"}}, 3},
				{url.Values{"provider": {"gofax"}}, 0},
				{url.Values{"created_after": {before}, "created_before": {after}}, 3},
				{url.Values{"created_after": {after}}, 0},
				{url.Values{"created_before": {before}, "provider": {"simulator"}}, 0},
				{url.Values{"to": {one.To}, "created_after": {before}}, 1},
			} {
				if got := count(tc.q); got != tc.want {
					t.Errorf("GET /v1/faxes?%s: got %d faxes, want %d", tc.q.Encode(), got, tc.want)
				}
			}
			var e struct {
				Error struct{ Code, Message string }
			}
			if code := g.do("GET", "/v1/faxes?created_after=last+week", nil, &e); code != 400 || !strings.Contains(e.Error.Message, "created_after") {
				t.Errorf("bad created_after: got %d %+v, want 400 naming it", code, e)
			}
		})
	}
}

// TestCLISendBatch: `faxgate send` takes --to repeated and as a comma list,
// and several files joined in order, and prints the batch.
func TestCLISendBatch(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	env := func(k string) string {
		return map[string]string{"FAXGATE_URL": g.url, "FAXGATE_API_KEY": adminKey}[k]
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	os.WriteFile(a, []byte("first file\n"), 0o600)
	os.WriteFile(b, []byte("second file\n"), 0o600)
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"send", "--to", "+15552360001,+15552360002", "--to", "+15552360003", a, b}, env, &out, &errOut); code != 0 {
		t.Fatalf("send: exit %d: %s", code, errOut.String())
	}
	var batch batchObj
	if err := json.Unmarshal(out.Bytes(), &batch); err != nil || len(batch.Data) != 3 || batch.BatchID == "" {
		t.Fatalf("send printed %q (%v), want a batch of 3", out.String(), err)
	}
	for i, f := range batch.Data {
		if want := []string{"+15552360001", "+15552360002", "+15552360003"}[i]; f.To != want || f.Pages != 2 {
			t.Errorf("fax %d: got to %s with %d pages, want %s with the 2 files' 2 pages", i, f.To, f.Pages, want)
		}
	}
	out.Reset()
	if code := run(ctx, []string{"send", "--to", "+15552360004", a}, env, &out, &errOut); code != 0 {
		t.Fatalf("send to one: exit %d: %s", code, errOut.String())
	}
	var one map[string]any
	if err := json.Unmarshal(out.Bytes(), &one); err != nil || one["to"] != "+15552360004" || one["batch_id"] != nil {
		t.Errorf("send to one number printed %q (%v), want the fax alone", out.String(), err)
	}
}
