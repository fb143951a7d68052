package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/gofax"
)

// hostileFiles is a fake document API for Phaxio (GET /faxes/{id}/file),
// Sinch (GET /v3/projects/{p}/faxes/{id}/file) and GoFax (GET
// /v1.0/ReceiveFax/{id}/Document) on loopback. Each carrier fax id answers
// as its behaviour says; every request and every byte written is counted.
type hostileFiles struct {
	pdf     []byte
	mu      sync.Mutex
	behave  map[string]string
	hits    map[string]int
	written map[string]int64
	open    atomic.Int32  // requests being answered
	release chan struct{} // ends the "hang" answers
}

func newHostileFiles(t *testing.T) (*hostileFiles, *httptest.Server) {
	f := &hostileFiles{pdf: samplePDF(t, 1), behave: map[string]string{}, hits: map[string]int{}, written: map[string]int64{},
		release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() { close(f.release); srv.Close() })
	return f, srv
}

func (f *hostileFiles) set(id, behaviour string) {
	f.mu.Lock()
	f.behave[id] = behaviour
	f.mu.Unlock()
}

func (f *hostileFiles) count(id string) (hits int, written int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[id], f.written[id]
}

func (f *hostileFiles) serve(w http.ResponseWriter, r *http.Request) {
	f.open.Add(1)
	defer f.open.Add(-1)
	var id string
	gofax := false
	switch p := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); {
	case len(p) == 4 && p[0] == "v1.0" && p[1] == "ReceiveFax" && p[3] == "Document":
		id, gofax = p[2], true
	case len(p) == 3 && p[0] == "faxes" && p[2] == "file":
		id = p[1]
	case len(p) == 6 && p[0] == "v3" && p[3] == "faxes" && p[5] == "file":
		id = p[4]
	default:
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	f.hits[id]++
	behaviour := f.behave[id]
	f.mu.Unlock()
	write := func(b []byte) error {
		n, err := w.Write(b)
		f.mu.Lock()
		f.written[id] += int64(n)
		f.mu.Unlock()
		return err
	}
	switch behaviour {
	case "pdf":
		if gofax {
			b, _ := json.Marshal(base64.StdEncoding.EncodeToString(f.pdf))
			write(b)
			return
		}
		write(f.pdf)
	case "401":
		w.WriteHeader(http.StatusUnauthorized)
	case "404":
		w.WriteHeader(http.StatusNotFound)
	case "html":
		w.Header().Set("Content-Type", "text/html")
		write([]byte("<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body>The proxy could not reach the upstream server.</body></html>\n"))
	case "text":
		w.Header().Set("Content-Type", "text/plain")
		write([]byte("Service temporarily unavailable. Please try again later.\n"))
	case "huge", "huge announced":
		// 80 MB that begins like a document: base64 for GoFax, PDF bytes
		// otherwise, streamed from one small buffer.
		const size = 80_000_000
		if behaviour == "huge announced" {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		head := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{'%'}, 3)...)
		fill := bytes.Repeat([]byte{'0'}, 64<<10)
		if gofax {
			head = []byte(`"` + base64.StdEncoding.EncodeToString(head))
			fill = bytes.Repeat([]byte{'A'}, 64<<10)
		}
		if write(head) != nil {
			return
		}
		for n := len(head); n < size; n += len(fill) {
			if write(fill[:min(len(fill), size-n)]) != nil {
				return
			}
		}
	case "hang":
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
	default:
		http.NotFound(w, r)
	}
}

// fetchGateway runs a gateway with Phaxio, Sinch and GoFax all fetching
// received documents from files, documents limited to 1 MiB (so received
// ones to 2 MiB), on clock.
func fetchGateway(t *testing.T, files *httptest.Server, clock *testClock) *gateway {
	return startGateway(t, withClock(clock), withEnv("FAXGATE_PUBLIC_URL", publicURL), withEnv("FAXGATE_MAX_DOCUMENT_BYTES", "1048576"),
		withEnv("PHAXIO_API_KEY", "key"), withEnv("PHAXIO_API_SECRET", "api-secret"), withEnv("PHAXIO_BASE_URL", files.URL),
		withEnv("SINCH_PROJECT_ID", "proj"), withEnv("SINCH_KEY_ID", "kid"), withEnv("SINCH_KEY_SECRET", "ksecret"),
		withEnv("SINCH_BASE_URL", files.URL), withEnv("SINCH_INBOUND_BASIC_USER", "sinch"), withEnv("SINCH_INBOUND_BASIC_PASS", "pw"),
		withEnv("GOFAX_TOKEN", "gofax-token"), withEnv("GOFAX_BASE_URL", files.URL),
		withEnv("GOFAX_WEBHOOK_USER", "gofax"), withEnv("GOFAX_WEBHOOK_PASS", "pw"))
}

// receive posts carrier's received-fax webhook for its fax id, whose
// document the gateway must then fetch.
func (g *gateway) receive(carrier, id string) {
	g.t.Helper()
	var path, ct string
	var body []byte
	hdr := map[string]string{}
	switch carrier {
	case "phaxio":
		path, ct = "/phaxio-inbound", "application/json"
		body = []byte(`{"fax":{"id":` + id + `,"from":"+15551230007","to":"+15559870002","num_pages":1,"status":"received"}}`)
		hdr["X-Phaxio-Signature"] = hmacHex("api-secret", body)
	case "sinch":
		path, ct = "/sinch-inbound", "application/json"
		body, _ = json.Marshal(map[string]any{"event": "INCOMING_FAX", "eventTime": "2026-11-23T10:00:31Z",
			"fax": map[string]any{"id": id, "direction": "INBOUND", "from": "+15551230000", "to": "+15559870001", "numberOfPages": 1, "status": "COMPLETED"}})
		hdr["Authorization"] = basicAuth("sinch", "pw")
	case "gofax":
		path, ct = "/gofax-inbound", "application/x-www-form-urlencoded"
		body = []byte("FaxID=" + id + "&Number=61712344321&Message=COMPLETE&SenderFaxID=0311223344&NumberOfPages=1")
		hdr["Authorization"] = basicAuth("gofax", "pw")
	}
	if code, resp := g.post(path, ct, body, hdr); code != http.StatusOK {
		g.t.Fatalf("%s webhook: got %d %s", carrier, code, resp)
	}
}

// receivedFax returns the received fax of carrier's fax id, once recorded.
func (g *gateway) receivedFax(carrier, id string) (faxObj, bool) {
	g.t.Helper()
	for _, f := range g.inbound() {
		if f.Provider == carrier && f.ProviderFaxID != nil && *f.ProviderFaxID == id {
			return f, true
		}
	}
	return faxObj{}, false
}

// TestFetchHostileAnswers drives each carrier's document download through
// hostile answers. Rejected credentials and oversized documents give up at
// once, without a second download; a 404 or an answer that is not a PDF or
// TIFF (a proxy's HTML or text page) is retried a few times and never
// stored as a fax; an oversized answer is not read past the limit.
func TestFetchHostileAnswers(t *testing.T) {
	files, srv := newHostileFiles(t)
	clock := newTestClock()
	g := fetchGateway(t, srv, clock)
	tests := []struct {
		behaviour string
		hits      int    // downloads, in all
		status    string // of the recorded fax
		message   string // in its error
	}{
		{"pdf", 1, "received", ""},
		{"401", 1, "partial", "credentials (HTTP 401): check "},
		{"404", 5, "partial", "HTTP 404"},
		{"html", 5, "partial", "not a"},
		{"text", 5, "partial", "not a"},
		{"huge", 1, "partial", "larger than 2097152 bytes"},
		{"huge announced", 1, "partial", "larger than 2097152 bytes"},
	}
	credentials := map[string]string{"phaxio": "PHAXIO_API_KEY", "sinch": "SINCH_KEY_ID", "gofax": "GOFAX_TOKEN"}
	n := 0
	for _, carrier := range []string{"phaxio", "sinch", "gofax"} {
		for _, tt := range tests {
			t.Run(carrier+" "+tt.behaviour, func(t *testing.T) {
				n++
				id := fmt.Sprint(7100000 + n)
				if carrier == "sinch" {
					id = fmt.Sprintf("01JFETCHAAAAAAAAAAAAAAA%03d", n)
				}
				files.set(id, tt.behaviour)
				g.receive(carrier, id)
				// Each retry waits for the clock: it moves on only once a
				// download has ended and the gateway had time to record it.
				deadline := time.Now().Add(30 * time.Second)
				seen := 0
				var f faxObj
				for {
					var ok bool
					if f, ok = g.receivedFax(carrier, id); ok {
						break
					}
					if time.Now().After(deadline) {
						hits, _ := files.count(id)
						t.Fatalf("no fax recorded after 30s and %d downloads", hits)
					}
					if hits, _ := files.count(id); hits > seen && files.open.Load() == 0 {
						seen = hits
						time.Sleep(50 * time.Millisecond)
						clock.Advance(25 * time.Hour)
						g.m.Ingest.Notify()
					}
					time.Sleep(10 * time.Millisecond)
				}
				hits, written := files.count(id)
				if hits != tt.hits {
					t.Errorf("got %d downloads, want %d", hits, tt.hits)
				}
				if f.Status != tt.status {
					t.Errorf("got status %s (%d pages), want %s", f.Status, f.Pages, tt.status)
				}
				msg := ""
				if f.Error != nil {
					msg = f.Error.Message
				}
				if !strings.Contains(msg, tt.message) {
					t.Errorf("got error %q, want it to say %q", msg, tt.message)
				}
				if tt.behaviour == "401" && !strings.Contains(msg, credentials[carrier]) {
					t.Errorf("got error %q, want it to name %s", msg, credentials[carrier])
				}
				if strings.Contains(msg, "gofax-token") {
					t.Errorf("error %q shows the token", msg)
				}
				// An 80 MB answer stops at the 2 MiB limit (base64: about
				// 2.7 MB), plus what the sockets' buffers took.
				if strings.HasPrefix(tt.behaviour, "huge") && written > 24<<20 {
					t.Errorf("the carrier wrote %d bytes of an 80 MB answer, want the download stopped near the limit", written)
				}
			})
		}
	}
}

// TestFetchHostileMemory: GoFax answers a received fax's document with an
// 80 MB base64 body. The download is given up at the limit, once, and the
// gateway's resident memory grows by a small part of it.
func TestFetchHostileMemory(t *testing.T) {
	files, srv := newHostileFiles(t)
	clock := newTestClock()
	g := fetchGateway(t, srv, clock)
	peak := residentPeak(t)
	for i, id := range []string{"7200001", "7200002", "7200003"} {
		files.set(id, "huge")
		g.receive("gofax", id)
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, ok := g.receivedFax("gofax", id); ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("fax %d: not recorded after 30s", i)
			}
			if hits, _ := files.count(id); hits > 0 && files.open.Load() == 0 {
				// A download that gave up must not be tried again.
				time.Sleep(50 * time.Millisecond)
				clock.Advance(25 * time.Hour)
				g.m.Ingest.Notify()
			}
			time.Sleep(10 * time.Millisecond)
		}
		if hits, _ := files.count(id); hits != 1 {
			t.Errorf("fax %d: got %d downloads, want 1", i, hits)
		}
	}
	grew := peak()
	t.Logf("resident memory peak rose by %.1f MiB", float64(grew)/(1<<20))
	if grew > 32<<20 {
		t.Errorf("resident memory grew by %d MiB over three 80 MB answers, want under 32 MiB", grew>>20)
	}
}

// residentPeak resets the process's peak resident set (VmHWM) and returns
// a function giving how far it rose since. Where the peak cannot be reset,
// VmRSS is sampled instead.
func residentPeak(t *testing.T) func() int64 {
	t.Helper()
	field := func(name string) int64 {
		f, err := os.Open("/proc/self/status")
		if err != nil {
			t.Skip("no /proc/self/status")
		}
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if v, ok := strings.CutPrefix(s.Text(), name+":"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				return kb << 10
			}
		}
		t.Skipf("no %s in /proc/self/status", name)
		return 0
	}
	base := field("VmRSS")
	if os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil {
		return func() int64 { return field("VmHWM") - base }
	}
	var top atomic.Int64
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
				if v := field("VmRSS"); v > top.Load() {
					top.Store(v)
				}
			}
		}
	}()
	return func() int64 { close(done); return top.Load() - base }
}

// TestFetchHangingCarrier: a GoFax download that hangs (until the
// carrier client's 2-minute timeout) does not delay a Phaxio fax received
// after it.
func TestFetchHangingCarrier(t *testing.T) {
	files, srv := newHostileFiles(t)
	g := fetchGateway(t, srv, newTestClock())
	for _, id := range []string{"7300001", "7300002"} {
		files.set(id, "hang")
		g.receive("gofax", id)
	}
	files.set("7300003", "pdf")
	g.receive("phaxio", "7300003")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if f, ok := g.receivedFax("phaxio", "7300003"); ok {
			if f.Status != "received" {
				t.Errorf("got %s, want received", f.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Phaxio fax was not fetched within 20s while GoFax downloads hang")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if h1, _ := files.count("7300001"); h1 != 1 || files.open.Load() == 0 {
		t.Errorf("got %d GoFax downloads, %d open; want the hanging one still open", h1, files.open.Load())
	}
}

// TestFetchFileLimit: a document of exactly the limit is fetched whole,
// plain or in GoFax's base64, announced or not; one byte more is refused.
func TestFetchFileLimit(t *testing.T) {
	const limit = 64 << 10
	doc := func(n int) []byte { return append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{'x'}, n-9)...) }
	for _, gofaxBody := range []bool{false, true} {
		for _, announced := range []bool{false, true} {
			for _, n := range []int{limit, limit + 1} {
				name := fmt.Sprintf("gofax=%v announced=%v %d bytes", gofaxBody, announced, n)
				body := doc(n)
				if gofaxBody {
					body, _ = json.Marshal(base64.StdEncoding.EncodeToString(body))
				}
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if announced {
						w.Header().Set("Content-Length", strconv.Itoa(len(body)))
					} else {
						w.(http.Flusher).Flush() // chunked: no length
					}
					w.Write(body)
				}))
				req, _ := http.NewRequest("GET", srv.URL, nil)
				dl := download{carrier: "phaxio", limit: limit}
				if gofaxBody {
					dl = download{carrier: "gofax", limit: limit, decode: gofax.DecodeFile}
				}
				got, err := fetchFile(srv.Client(), req, dl)
				srv.Close()
				switch {
				case n <= limit && (err != nil || !bytes.Equal(got, doc(n))):
					t.Errorf("%s: got %d bytes, %v; want the document", name, len(got), err)
				case n > limit && fax.ErrorCode(err) != fax.ECodeTooLarge:
					t.Errorf("%s: got %d bytes, %v; want too_large", name, len(got), err)
				}
			}
		}
	}
}
