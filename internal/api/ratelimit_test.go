package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/blob"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/sqlite"
)

// fakeClock is a settable clock for the limiter.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestLimiterBurstAndRefill(t *testing.T) {
	c := newFakeClock()
	l := newLimiter(2, 3, 0)
	for i := range 3 {
		if ok, _ := l.allow("k", c.Now()); !ok {
			t.Fatalf("request %d of the burst: refused, want allowed", i+1)
		}
	}
	ok, wait := l.allow("k", c.Now())
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: got %v %v, want refused with 500ms to wait", ok, wait)
	}
	c.Advance(499 * time.Millisecond)
	if ok, wait := l.allow("k", c.Now()); ok || wait != time.Millisecond {
		t.Fatalf("1ms early: got %v %v, want refused with 1ms to wait", ok, wait)
	}
	c.Advance(time.Millisecond)
	if ok, _ := l.allow("k", c.Now()); !ok {
		t.Fatal("after the refill interval: refused, want allowed")
	}
	if ok, _ := l.allow("k", c.Now()); ok {
		t.Fatal("right after: allowed, want refused")
	}
	// A long pause refills to the burst, not beyond it.
	c.Advance(time.Hour)
	for i := range 3 {
		if ok, _ := l.allow("k", c.Now()); !ok {
			t.Fatalf("request %d after a pause: refused", i+1)
		}
	}
	if ok, _ := l.allow("k", c.Now()); ok {
		t.Fatal("a pause refilled beyond the burst")
	}
}

func TestLimiterKeysAreIndependent(t *testing.T) {
	c := newFakeClock()
	l := newLimiter(1, 1, 0)
	if ok, _ := l.allow("admin", c.Now()); !ok {
		t.Fatal("admin: first request refused")
	}
	if ok, _ := l.allow("admin", c.Now()); ok {
		t.Fatal("admin: second request allowed, want refused")
	}
	if ok, _ := l.allow("key_other", c.Now()); !ok {
		t.Fatal("another key was limited by admin's requests")
	}
}

func TestLimiterDefaults(t *testing.T) {
	for _, rate := range []float64{0, -1} {
		if l := newLimiter(rate, 5, 0); l != nil {
			t.Errorf("rate %v: got a limiter, want none (off)", rate)
		}
	}
	for _, tc := range []struct {
		rate  float64
		burst int
		want  int
	}{{0.5, 0, 1}, {1, 0, 1}, {2.5, 0, 3}, {10, 4, 4}} {
		if l := newLimiter(tc.rate, tc.burst, 0); l.burst() != tc.want || l.max != DefaultRateLimitKeys {
			t.Errorf("rate %v burst %d: got burst %d max %d, want %d and %d", tc.rate, tc.burst, l.burst(), l.max, tc.want, DefaultRateLimitKeys)
		}
	}
}

// TestLimiterBoundedMemory: however many keys call, at most max buckets are
// kept, and buckets idle long enough to be full again are dropped.
func TestLimiterBoundedMemory(t *testing.T) {
	c := newFakeClock()
	l := newLimiter(10, 10, 100)
	for i := range 10000 {
		l.allow(fmt.Sprintf("key_%d", i), c.Now())
		if n := l.len(); n > 100 {
			t.Fatalf("after %d keys: %d buckets, want at most 100", i+1, n)
		}
	}
	// A refill period (burst/rate = 1s) later, every bucket is full and
	// is forgotten when the next request comes.
	c.Advance(time.Second)
	l.allow("key_new", c.Now())
	if n := l.len(); n != 1 {
		t.Errorf("after the idle period: %d buckets, want 1", n)
	}
	// A key that is in use keeps its bucket (and its debt) while idle ones
	// go.
	for range 11 {
		l.allow("busy", c.Now())
	}
	c.Advance(500 * time.Millisecond)
	l.allow("other", c.Now())
	if ok, _ := l.allow("busy", c.Now()); !ok {
		t.Error("busy: refused after half a refill, want allowed (5 tokens back)")
	}
	if l.len() != 2 {
		t.Errorf("got %d buckets, want 2 (busy, other; key_new is full again)", l.len())
	}
}

// TestLimiterClockSteps: a clock stepping back and forth mints no tokens.
func TestLimiterClockSteps(t *testing.T) {
	c := newFakeClock()
	l := newLimiter(1, 1, 0)
	l.allow("k", c.Now())
	for range 5 {
		c.Advance(-time.Minute)
		if ok, _ := l.allow("k", c.Now()); ok {
			t.Fatal("stepping the clock back gave a token")
		}
		c.Advance(time.Minute)
		if ok, _ := l.allow("k", c.Now()); ok {
			t.Fatal("stepping the clock back and forth again gave a token")
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		wait time.Duration
		want string
	}{{0, "1"}, {time.Nanosecond, "1"}, {500 * time.Millisecond, "1"}, {time.Second, "1"}, {1001 * time.Millisecond, "2"}, {90 * time.Second, "90"}} {
		if got := retryAfter(tc.wait); got != tc.want {
			t.Errorf("retryAfter(%v): got %q, want %q", tc.wait, got, tc.want)
		}
	}
}

const testAdminKey = "ratelimit-admin-key-0123456789"

// newLimitedServer is an API over a real SQLite store with opts' limits and
// clock.
func newLimitedServer(t *testing.T, opts Options) (http.Handler, *sqlite.Store) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := blob.NewDir(filepath.Join(dir, "docs"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Store, opts.Blobs, opts.AdminKeys = st, blobs, []string{testAdminKey}
	opts.DefaultProvider = "simulator"
	if opts.PrepareDocument == nil {
		opts.PrepareDocument = func(_ context.Context, files [][]byte) (Document, error) {
			return Document{Bytes: files[0], MIME: "application/pdf", Pages: 1}, nil
		}
	}
	var ids fax.IDGen
	return WithRequestID(New(opts), &ids, opts.Now), st
}

func call(h http.Handler, key, method, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) (code, requestID string) {
	t.Helper()
	var e struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("%d %q is not the JSON error shape: %v", rec.Code, rec.Body, err)
	}
	return e.Error.Code, e.Error.RequestID
}

func TestServerRateLimit(t *testing.T) {
	c := newFakeClock()
	h, st := newLimitedServer(t, Options{Now: c.Now, RateLimit: 1, RateBurst: 2})
	for i := range 2 {
		if rec := call(h, testAdminKey, "GET", "/v1/faxes"); rec.Code != 200 {
			t.Fatalf("request %d within the burst: got %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := call(h, testAdminKey, "GET", "/v1/faxes")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("over the limit: got %d Retry-After %q, want 429 with Retry-After 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	if code, rid := errorCode(t, rec); code != "rate_limited" || rid == "" {
		t.Errorf("got code %q request id %q, want rate_limited with a request id", code, rid)
	}
	// The limit is per key: a stored key has its own bucket, whatever
	// scopes it lacks (it is limited before its scope is checked).
	key, hash, prefix := NewAPIKey()
	if _, err := st.CreateAPIKey(context.Background(), &fax.APIKey{Name: "reader", Hash: hash, Prefix: prefix, Scopes: []fax.Scope{fax.ScopeFaxRead}}); err != nil {
		t.Fatal(err)
	}
	if rec := call(h, key, "GET", "/v1/faxes"); rec.Code != 200 {
		t.Errorf("another key: got %d, want 200", rec.Code)
	}
	call(h, key, "GET", "/v1/faxes")
	if rec := call(h, key, "GET", "/v1/api-keys"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("the other key over its limit: got %d, want 429", rec.Code)
	}
	// Requests without a valid key and public routes are not counted
	// against any key.
	for range 5 {
		if rec := call(h, "fgk_not_a_key", "GET", "/v1/faxes"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("bad key: got %d, want 401", rec.Code)
		}
		if rec := call(h, "", "GET", "/healthz"); rec.Code != 200 {
			t.Fatalf("healthz: got %d, want 200", rec.Code)
		}
	}
	c.Advance(time.Second)
	if rec := call(h, testAdminKey, "GET", "/v1/faxes"); rec.Code != 200 {
		t.Errorf("a second later: got %d, want 200", rec.Code)
	}
	if rec := call(h, testAdminKey, "GET", "/v1/faxes"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("a second later, twice: got %d, want 429", rec.Code)
	}
}

func TestServerRateLimitRetryAfterRoundsUp(t *testing.T) {
	c := newFakeClock()
	h, _ := newLimitedServer(t, Options{Now: c.Now, RateLimit: 0.25, RateBurst: 1})
	call(h, testAdminKey, "GET", "/v1/faxes")
	c.Advance(1500 * time.Millisecond)
	rec := call(h, testAdminKey, "GET", "/v1/faxes")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "3" {
		t.Errorf("got %d Retry-After %q, want 429 with 3 (2.5s rounded up)", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func newSendRequest(t *testing.T) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("to", "+15551234567")
	fw, _ := w.CreateFormFile("file", "doc.pdf")
	fw.Write([]byte("%PDF-1.4 test"))
	w.Close()
	req := httptest.NewRequest("POST", "/v1/faxes", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	return req
}

// TestServerInflightSends: with the cap reached, a send is refused at once
// with 503 and Retry-After, other routes still answer, and the slot is
// free again once the send in progress ends.
func TestServerInflightSends(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h, _ := newLimitedServer(t, Options{MaxInflightSends: 1, PrepareDocument: func(_ context.Context, files [][]byte) (Document, error) {
		b := files[0]
		block := false
		once.Do(func() { block = true })
		if block {
			close(entered)
			<-release
		}
		return Document{Bytes: b, MIME: "application/pdf", Pages: 1}, nil
	}})
	first := make(chan *httptest.ResponseRecorder)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newSendRequest(t))
		first <- rec
	}()
	<-entered
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newSendRequest(t))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("send over the cap: got %d Retry-After %q, want 503 with Retry-After 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	if code, _ := errorCode(t, rec); code != "unavailable" {
		t.Errorf("got code %q, want unavailable", code)
	}
	if rec := call(h, testAdminKey, "GET", "/v1/faxes"); rec.Code != 200 {
		t.Errorf("a read while the cap is reached: got %d, want 200", rec.Code)
	}
	close(release)
	if rec := <-first; rec.Code != http.StatusAccepted {
		t.Fatalf("the send in progress: got %d %s, want 202", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, newSendRequest(t))
	if rec.Code != http.StatusAccepted {
		t.Errorf("a send after the slot was freed: got %d %s, want 202", rec.Code, rec.Body)
	}
}

// TestServerInflightSendsFreedOnError: a refused send frees its slot too.
func TestServerInflightSendsFreedOnError(t *testing.T) {
	h, _ := newLimitedServer(t, Options{MaxInflightSends: 1})
	for i := range 3 {
		req := httptest.NewRequest("POST", "/v1/faxes", bytes.NewReader([]byte(`{"to":"123"}`)))
		req.Header.Set("Authorization", "Bearer "+testAdminKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("bad send %d: got %d, want 400 (a slot leaked?)", i+1, rec.Code)
		}
	}
}
