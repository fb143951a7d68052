package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// sendParts is a multipart send split where its document begins: a
// trickling client sends head and holds back tail.
func sendParts(t *testing.T) (ct string, head, tail []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("to", "+15551234567")
	fw, _ := w.CreateFormFile("file", "doc.pdf")
	n := buf.Len()
	fw.Write([]byte("%PDF-1.4 test"))
	w.Close()
	b := buf.Bytes()
	return w.FormDataContentType(), b[:n+4], b[n+4:]
}

// bodyWatch counts the requests whose body the server started reading or
// that were answered without reading it, so that a test knows every
// trickling request is in place.
type bodyWatch struct {
	next    http.Handler
	settled atomic.Int32
}

type firstRead struct {
	io.ReadCloser
	once *sync.Once
	fn   func()
}

func (f firstRead) Read(p []byte) (int, error) {
	f.once.Do(f.fn)
	return f.ReadCloser.Read(p)
}

func (b *bodyWatch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var once sync.Once
	settle := func() { b.settled.Add(1) }
	r.Body = firstRead{r.Body, &once, settle}
	b.next.ServeHTTP(w, r)
	once.Do(settle)
}

func (b *bodyWatch) waitFor(t *testing.T, n int32) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for b.settled.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests reached the server", b.settled.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// postSend sends a whole send with key over a real connection.
func postSend(t *testing.T, url, key string) (int, string) {
	t.Helper()
	ct, head, tail := sendParts(t)
	req, _ := http.NewRequest("POST", url+"/v1/faxes", bytes.NewReader(append(head, tail...)))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestTrickledSendsHoldOnlyTheirKeysShare: one key with fax:send opens 64
// sends whose bodies never finish. It gets its share (the per-key cap)
// and 429 beyond it; every other key, the admin included, still sends.
func TestTrickledSendsHoldOnlyTheirKeysShare(t *testing.T) {
	h, st := newLimitedServer(t, Options{MaxInflightSends: 64, MaxInflightSendsPerKey: 8, SendBodyTimeout: time.Hour})
	watch := &bodyWatch{next: h}
	srv := httptest.NewServer(watch)
	defer srv.Close()
	hog := storedKey(t, st, "hog", fax.ScopeFaxSend)
	other := storedKey(t, st, "other", fax.ScopeFaxSend)

	ct, head, _ := sendParts(t)
	codes := make(chan int, 64)
	var writers []*io.PipeWriter
	for range 64 {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		go func() {
			req, _ := http.NewRequest("POST", srv.URL+"/v1/faxes", pr)
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer "+hog)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
		go pw.Write(head)
	}
	defer func() {
		for _, pw := range writers {
			pw.CloseWithError(io.ErrUnexpectedEOF)
		}
	}()
	watch.waitFor(t, 64)

	for name, key := range map[string]string{"another key": other, "the admin key": testAdminKey} {
		if code, body := postSend(t, srv.URL, key); code != http.StatusAccepted {
			t.Errorf("%s sends while one key trickles 64 bodies: got %d %s, want 202", name, code, body)
		}
	}
	if code, _ := postSend(t, srv.URL, hog); code != http.StatusTooManyRequests {
		t.Errorf("the trickling key's next send: got %d, want 429 (its share is taken)", code)
	}
	refused := 0
	for refused < 64-8 {
		select {
		case c := <-codes:
			if c != http.StatusTooManyRequests {
				t.Fatalf("a trickled send beyond the key's share: got %d, want 429", c)
			}
			refused++
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of the trickled sends were refused, want 56", refused)
		}
	}
}

// trickle posts a send with key whose body is head at once, then tail a
// byte every 50 ms, and returns the answer.
func trickle(t *testing.T, url, key, ct string, head, tail []byte) (int, string, string) {
	t.Helper()
	pr, pw := io.Pipe()
	stop := make(chan struct{})
	defer close(stop)
	defer pw.CloseWithError(io.ErrClosedPipe)
	go func() {
		pw.Write(head)
		for _, c := range tail {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := pw.Write([]byte{c}); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", url+"/v1/faxes", pr)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the trickled send got no answer: %v", err)
	}
	defer resp.Body.Close()
	var e struct {
		Error struct {
			Code, Message string
			RequestID     string `json:"request_id"`
		} `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error.Code, e.Error.RequestID
}

// TestTrickledBodyCutOff: a body that keeps arriving a byte at a time is
// cut off at the body deadline with 408, whether it trickles its document
// or bytes after the closing boundary, and its key's slot is free again.
func TestTrickledBodyCutOff(t *testing.T) {
	h, st := newLimitedServer(t, Options{MaxInflightSends: 1, MaxInflightSendsPerKey: 1, SendBodyTimeout: 300 * time.Millisecond})
	srv := httptest.NewServer(h)
	defer srv.Close()
	key := storedKey(t, st, "slow", fax.ScopeFaxSend)

	ct, head, tail := sendParts(t)
	whole := append(append([]byte{}, head...), tail...)
	for name, parts := range map[string][2][]byte{
		"document":      {head, tail},
		"after the end": {whole, bytes.Repeat([]byte("x"), 1000)},
	} {
		code, ecode, rid := trickle(t, srv.URL, key, ct, parts[0], parts[1])
		if code != http.StatusRequestTimeout || ecode != "timeout" || rid == "" {
			t.Errorf("trickled %s: got %d %q request id %q, want 408 timeout in the error shape", name, code, ecode, rid)
		}
	}
	if n := countFaxes(t, st); n != 0 {
		t.Errorf("trickled sends made %d faxes", n)
	}
	if code, body := postSend(t, srv.URL, key); code != http.StatusAccepted {
		t.Errorf("the same key's next send: got %d %s, want 202 (the slot was freed)", code, body)
	}
}

// TestSendOutlivesBodyDeadline: the deadline covers the body only; a send
// whose work goes on past it keeps its request context (here, fetching its
// content_url) and completes.
func TestSendOutlivesBodyDeadline(t *testing.T) {
	fetch := func(ctx context.Context, url string, max int64) ([]byte, error) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(400 * time.Millisecond):
		}
		return []byte("%PDF-1.4 fetched"), nil
	}
	h, st := newLimitedServer(t, Options{SendBodyTimeout: 100 * time.Millisecond, FetchDocument: fetch})
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/v1/faxes", strings.NewReader(`{"to":"+15551234567","content_url":"https://docs.example/a.pdf"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("a send still working past the body deadline: got %d %s, want 202", resp.StatusCode, b)
	}
	if n := countFaxes(t, st); n != 1 {
		t.Errorf("got %d faxes, want 1", n)
	}
}
