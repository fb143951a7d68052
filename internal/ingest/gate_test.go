package ingest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// A body that announces far more than it sends gets a buffer sized by what
// arrived, not by the announcement.
func TestReadBodyGrowsWithArrival(t *testing.T) {
	got, err := readBody(strings.NewReader("fax=1"), 40<<20, nil)
	if err != nil || string(got) != "fax=1" {
		t.Fatalf("got %q, %v; want the body", got, err)
	}
	if cap(got) > firstBuffer {
		t.Errorf("got a buffer of %d bytes for 5 bytes announced as 40 MiB, want at most %d", cap(got), firstBuffer)
	}
	body := bytes.Repeat([]byte("x"), 100000)
	got, err = readBody(bytes.NewReader(body), int64(len(body)), nil)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("got %d bytes, %v; want the body", len(got), err)
	}
	if cap(got) != len(body)+1 {
		t.Errorf("got a buffer of %d bytes for an honest %d-byte body, want %d", cap(got), len(body), len(body)+1)
	}
}

func TestGate(t *testing.T) {
	g := newGate(3, 2, 100)
	if !g.enter("a") || !g.enter("a") {
		t.Fatal("two reads from one source refused, want both let in")
	}
	if g.enter("a") {
		t.Error("a third read from one source let in, want refused (2 per source)")
	}
	if !g.enter("b") {
		t.Error("a read from another source refused, want let in")
	}
	if g.enter("c") {
		t.Error("a fourth read let in, want refused (3 at once)")
	}
	if !g.take(60, true) || g.take(50, false) {
		t.Error("want 60 bytes granted and 50 more refused (100 together)")
	}
	if !g.take(50, true) {
		t.Error("a read's first buffer refused, want always granted")
	}
	g.leave("a", 60, false)
	g.leave("b", 50, true)
	if !g.enter("c") || !g.take(100, false) {
		t.Error("after reads left, want their slots and bytes free again")
	}
}

// countingRoute is a route whose Verify refuses every body and counts the
// bodies it saw.
func countingRoute(seen *atomic.Int32) Route {
	return Route{Pattern: "POST /hook", Provider: "test", MaxBody: 1 << 20,
		Verify: func(*http.Request, []byte) error {
			seen.Add(1)
			return fax.Errorf(fax.ECodeUnauthorized, "no")
		},
		Parse: func(*http.Request, []byte) ([]fax.Update, error) { return nil, nil },
	}
}

func TestHandlerPreverifyRefusesBeforeTheBody(t *testing.T) {
	var seen atomic.Int32
	rt := countingRoute(&seen)
	rt.Preverify = func(*http.Request) (bool, error) { return false, fax.Errorf(fax.ECodeUnauthorized, "missing header") }
	var rejected int
	in := New(Options{OnRejected: func(_ context.Context, _, _, _, _ string) { rejected++ }})
	body := &countingReader{r: strings.NewReader("x=1")}
	req := httptest.NewRequest("POST", "/hook", body)
	rec := httptest.NewRecorder()
	in.Handler(rt).ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest && rec.Code != http.StatusUnauthorized {
		t.Errorf("got %d, want a refusal", rec.Code)
	}
	if body.n != 0 || seen.Load() != 0 {
		t.Errorf("got %d body bytes read and %d bodies verified, want none", body.n, seen.Load())
	}
	if rejected != 1 {
		t.Errorf("got %d rejections reported, want 1", rejected)
	}
}

func TestHandlerTooLargeAnnounced(t *testing.T) {
	var seen atomic.Int32
	in := New(Options{})
	req := httptest.NewRequest("POST", "/hook", strings.NewReader("x"))
	req.ContentLength = 2 << 20
	rec := httptest.NewRecorder()
	in.Handler(countingRoute(&seen)).ServeHTTP(rec, req)
	if seen.Load() != 0 {
		t.Errorf("got %d bodies verified, want none: the announced length is over the route's limit", seen.Load())
	}
}

func TestHandlerBusy(t *testing.T) {
	var seen atomic.Int32
	var wrote error
	in := New(Options{UnverifiedReads: 1, WriteError: func(w http.ResponseWriter, r *http.Request, err error) {
		wrote = err
		w.WriteHeader(http.StatusServiceUnavailable)
	}})
	if !in.gate.enter("192.0.2.1") {
		t.Fatal("could not take the only slot")
	}
	req := httptest.NewRequest("POST", "/hook", strings.NewReader("x="+strings.Repeat("1", firstBuffer)))
	rec := httptest.NewRecorder()
	in.Handler(countingRoute(&seen)).ServeHTTP(rec, req)
	if fax.ErrorCode(wrote) != fax.ECodeUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("got %v and Retry-After %q, want unavailable with Retry-After", wrote, rec.Header().Get("Retry-After"))
	}
	if seen.Load() != 0 {
		t.Error("a body was verified while the gate was full")
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestSmallBodiesOwnBound: a carrier's burst of small status callbacks from
// one address is not held to the large bodies' per-source share (a loaded
// bench saw 503s for signed callbacks when it was).
func TestSmallBodiesOwnBound(t *testing.T) {
	var seen atomic.Int32
	in := New(Options{UnverifiedReads: 8, UnverifiedReadsPerSource: 2})
	for range 2 {
		if !in.gate.enter("192.0.2.1") {
			t.Fatal("could not take the source's large-body slots")
		}
	}
	for i := range 40 {
		req := httptest.NewRequest("POST", "/hook", strings.NewReader("fax[id]=1"))
		rec := httptest.NewRecorder()
		if !in.small.enter("192.0.2.1") && i < 39 {
			t.Fatalf("small slot %d refused, want 64 per source", i)
		}
		in.Handler(countingRoute(&seen)).ServeHTTP(rec, req)
		if seen.Load() != int32(i+1) {
			t.Fatalf("small callback %d beside full large-body slots was not read and verified (answer %d)", i, rec.Code)
		}
	}
	if seen.Load() != 40 {
		t.Errorf("got %d bodies verified, want 40", seen.Load())
	}
	// A large body from the same source still meets its share.
	req := httptest.NewRequest("POST", "/hook", strings.NewReader(strings.Repeat("x", firstBuffer)))
	rec := httptest.NewRecorder()
	in.Handler(countingRoute(&seen)).ServeHTTP(rec, req)
	if seen.Load() != 40 {
		t.Error("a large body was read beyond its source's share")
	}
}
