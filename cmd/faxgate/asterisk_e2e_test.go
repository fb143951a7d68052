package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/faxgate/faxgate/internal/provider/asterisk/amitest"
)

// e2eChannel is ASTERISK_CHANNEL in these tests, so that the Originate's
// Channel shows it came from the setting and not a default.
const e2eChannel = "PJSIP/{number}@e2e-trunk"

// needGhostscript skips the test when gs is missing, unless CI=true, where
// a missing Ghostscript is a broken test machine.
func needGhostscript(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("gs"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("Ghostscript (gs) is required in CI: apt-get install ghostscript")
		}
		t.Skip("Ghostscript (gs) is not installed")
	}
}

// asteriskGateway runs a gateway sending through Asterisk: the fake AMI
// server on loopback, a fresh spool directory, and the given options.
func asteriskGateway(t *testing.T, ami *amitest.Server, spool string, opts ...gatewayOption) *gateway {
	t.Helper()
	opts = append([]gatewayOption{
		withEnv("FAXGATE_PROVIDER", "asterisk"),
		withEnv("ASTERISK_AMI_HOST", ami.Host()), withEnv("ASTERISK_AMI_PORT", ami.Port()),
		withEnv("ASTERISK_AMI_USER", amitest.User), withEnv("ASTERISK_AMI_SECRET", amitest.Secret),
		withEnv("ASTERISK_SPOOL_DIR", spool), withEnv("ASTERISK_CHANNEL", e2eChannel),
	}, opts...)
	return startGateway(t, opts...)
}

// byNumber picks the reply to an Originate by the number dialled (the
// digits in e2eChannel); numbers not listed are Queued and never heard of
// again.
func byNumber(replies map[string]amitest.Reply) amitest.Reply {
	return func(c *amitest.Conn, a amitest.Action) {
		number, _, _ := strings.Cut(strings.TrimPrefix(a.Get("Channel"), "PJSIP/"), "@")
		if r, ok := replies[number]; ok {
			r(c, a)
			return
		}
		amitest.Queued(c, a)
	}
}

// spooledTIFF is a fax TIFF as the fake Asterisk found it when asked to
// send it.
type spooledTIFF struct {
	path string
	data []byte
	err  error
}

// TestAsteriskSendEndToEnd: POST /v1/faxes with a PDF → Ghostscript renders
// a fax TIFF into the spool → Originate over AMI naming it, on the channel
// from ASTERISK_CHANNEL → OriginateResponse Success and the dialplan's
// FaxResult SUCCESS → sent with the pages Asterisk reported and its
// Uniqueid as provider_fax_id; the user's endpoint gets signed events.
func TestAsteriskSendEndToEnd(t *testing.T) {
	needGhostscript(t)
	spool := t.TempDir()
	var mu sync.Mutex
	var spooled []spooledTIFF
	ami := amitest.NewServer(t, &amitest.Options{Originate: func(c *amitest.Conn, a amitest.Action) {
		// SendFAX reads the file while the call is up: look before the
		// result, after which faxgate removes it.
		path := a.Variable("FAXFILE")
		data, err := os.ReadFile(path)
		mu.Lock()
		spooled = append(spooled, spooledTIFF{path, data, err})
		mu.Unlock()
		pages, _ := tiffPageCount(data)
		amitest.Answered("1700000000.42", "SUCCESS", "OK", pages)(c, a)
	}})
	g := asteriskGateway(t, ami, spool)
	r := newReceiver(t)
	g.endpoint(r, nil)
	f := g.send("+15551234567", samplePDF(t, 2))
	done := g.waitFax(f.ID)
	if done.Status != "sent" || done.Provider != "asterisk" || done.Pages != 2 ||
		done.ProviderFaxID == nil || *done.ProviderFaxID != "1700000000.42" {
		t.Fatalf("got %+v, want sent, 2 pages, provider_fax_id 1700000000.42", done)
	}
	var withSent struct {
		PagesSent int `json:"pages_sent"`
	}
	g.do("GET", "/v1/faxes/"+f.ID, nil, &withSent)
	if withSent.PagesSent != 2 {
		t.Errorf("pages_sent: got %d, want 2", withSent.PagesSent)
	}

	// The Originate as Asterisk received it.
	orig := ami.Received("Originate")
	if len(orig) != 1 {
		t.Fatalf("Asterisk got %d Originates, want 1", len(orig))
	}
	a := orig[0]
	want := map[string]string{
		"Channel": "PJSIP/15551234567@e2e-trunk", "Context": "faxgate-out", "Exten": "s", "Priority": "1",
		"Async": "true", "ActionID": "faxgate:originate:" + f.ID,
	}
	for k, v := range want {
		if got := a.Get(k); got != v {
			t.Errorf("Originate %s: got %q, want %q", k, got, v)
		}
	}
	wantFile := filepath.Join(spool, f.ID+".tif")
	if got := a.Variable("FAXFILE"); got != wantFile {
		t.Errorf("FAXFILE: got %q, want %q", got, wantFile)
	}
	if got := a.Variable("FAXGATE_JOB"); got != f.ID {
		t.Errorf("FAXGATE_JOB: got %q, want %q", got, f.ID)
	}

	// The TIFF the Originate named, as it was in the spool.
	mu.Lock()
	if len(spooled) != 1 || spooled[0].err != nil {
		t.Fatalf("spooled TIFF: got %+v, want one readable file", spooled)
	}
	tiff := spooled[0]
	mu.Unlock()
	pages, err := readFaxTIFF(tiff.data)
	if err != nil {
		t.Fatalf("spooled TIFF: %v", err)
	}
	if len(pages) != 2 {
		t.Errorf("spooled TIFF: got %d pages, want 2", len(pages))
	}
	for i, p := range pages {
		if p.compression != 4 || p.width != 1728 || p.xres != 204 || p.yres != 196 || p.unit != 2 || p.height == 0 {
			t.Errorf("page %d: got %+v, want CCITT G4 (4), 1728 dots wide, 204×196 dots per inch (unit 2)", i+1, p)
		}
	}
	checkTiffinfo(t, tiff.data, 2)
	// The result is final: the TIFF is no longer needed.
	if _, err := os.Stat(wantFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spooled TIFF still there after the fax was sent (stat: %v)", err)
	}

	// The user's endpoint: every event about the fax signed, one fax.sent.
	if ev := r.waitFor("fax.sent", f.ID); !ev.Valid {
		t.Error("fax.sent signature did not verify")
	}
	sent := 0
	for _, e := range r.got() {
		if !e.Valid {
			t.Errorf("%s: signature did not verify", e.Type)
		}
		if e.Type == "fax.sent" {
			sent++
			if e.Data["pages"] != float64(2) {
				t.Errorf("fax.sent data: got pages %v, want 2", e.Data["pages"])
			}
		}
	}
	if sent != 1 {
		t.Errorf("receiver got fax.sent %d times, want 1", sent)
	}
	if count := g.eventCounts(f.ID); count["fax.sent"] != 1 || count["fax.failed"] != 0 {
		t.Errorf("timeline %v: want one fax.sent", count)
	}
}

// TestAsteriskCallFailures: what Asterisk reports for a call that does not
// carry the fax fails it with the matching code, and the user hears of it
// with a signed fax.failed; a fax of which nothing is ever heard fails with
// timeout after ASTERISK_FAX_TIMEOUT.
func TestAsteriskCallFailures(t *testing.T) {
	needGhostscript(t)
	spool := t.TempDir()
	ami := amitest.NewServer(t, &amitest.Options{Originate: byNumber(map[string]amitest.Reply{
		"15550000005": amitest.Unanswered(amitest.ReasonBusy),
		"15550000003": amitest.Unanswered(amitest.ReasonNoAnswer),
		"15550000008": amitest.Unanswered(amitest.ReasonCongestion),
		"15550000009": amitest.Answered("1700000000.9", "FAILURE", "The call dropped prematurely", 1),
		// 15550000000 is queued and then never heard of again.
	})})
	g := asteriskGateway(t, ami, spool, withEnv("ASTERISK_FAX_TIMEOUT", "2s"))
	r := newReceiver(t)
	g.endpoint(r, nil)
	tests := []struct {
		to, code string
	}{
		{"+15550000005", "busy"},
		{"+15550000003", "no_answer"},
		{"+15550000008", "congestion"},
		{"+15550000009", "fax_error"},
		{"+15550000000", "timeout"},
	}
	ids := make([]string, len(tests))
	for i, tt := range tests {
		ids[i] = g.send(tt.to, textDoc).ID
	}
	for i, tt := range tests {
		done := g.waitFax(ids[i])
		if done.Status != "failed" || done.Error == nil || done.Error.Code != tt.code {
			t.Errorf("%s: got %+v, want failed %s", tt.to, done, tt.code)
			continue
		}
		if ev := r.waitFor("fax.failed", ids[i]); !ev.Valid {
			t.Errorf("%s: fax.failed signature did not verify", tt.to)
		}
		if count := g.eventCounts(ids[i]); count["fax.failed"] != 1 || count["fax.sent"] != 0 {
			t.Errorf("%s: timeline %v, want one fax.failed", tt.to, count)
		}
		if _, err := os.Stat(filepath.Join(spool, ids[i]+".tif")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: spooled TIFF still there after the fax failed (stat: %v)", tt.to, err)
		}
	}
	if n := len(ami.Received("Originate")); n != len(tests) {
		t.Errorf("Asterisk got %d Originates, want %d: a failed call is not retried", n, len(tests))
	}
	for _, e := range r.got() {
		if !e.Valid {
			t.Errorf("%s: signature did not verify", e.Type)
		}
	}
}

// TestAsteriskRefusedOriginate: an Originate Asterisk refuses as bad input
// (Response: Error, "Permission denied") fails the fax at once, with no
// retry.
func TestAsteriskRefusedOriginate(t *testing.T) {
	needGhostscript(t)
	ami := amitest.NewServer(t, &amitest.Options{Originate: amitest.Refused("Permission denied")})
	g := asteriskGateway(t, ami, t.TempDir())
	f := g.send("+15551234567", textDoc)
	done := g.waitFax(f.ID)
	if done.Status != "failed" || done.Error == nil || done.Error.Code != "carrier_error" {
		t.Fatalf("got %+v, want failed carrier_error", done)
	}
	if n := len(ami.Received("Originate")); n != 1 {
		t.Errorf("Asterisk got %d Originates, want 1: a refusal for bad input is not retried", n)
	}
}

// TestAsteriskAnsweredCallID: once Asterisk answers the call, its Uniqueid
// is the fax's provider_fax_id while the fax is still sending (asterisk.Send's
// doc promises it "is reported then").
func TestAsteriskAnsweredCallID(t *testing.T) {
	needGhostscript(t)
	ami := amitest.NewServer(t, &amitest.Options{Originate: amitest.AnsweredOnly("1700000000.77")})
	g := asteriskGateway(t, ami, t.TempDir())
	f := g.send("+15551234567", textDoc)
	got := g.waitHanded(f.ID)
	if got.Status != "sending" || *got.ProviderFaxID != "1700000000.77" {
		t.Errorf("got %+v, want sending with provider_fax_id 1700000000.77", got)
	}
}

// faxPage is what readFaxTIFF learns of one page.
type faxPage struct {
	width, height, compression, unit uint32
	xres, yres                       float64
}

// tiffPageCount is the number of pages in a TIFF, 0 when it is not one.
func tiffPageCount(b []byte) (int, error) {
	pages, err := readFaxTIFF(b)
	return len(pages), err
}

// readFaxTIFF walks a classic TIFF's IFDs and reads the tags that make a
// page a fax image, independently of faxgate's own reader.
func readFaxTIFF(b []byte) ([]faxPage, error) {
	if len(b) < 8 {
		return nil, errors.New("shorter than a TIFF header")
	}
	var bo binary.ByteOrder
	switch string(b[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return nil, errors.New("not a TIFF")
	}
	in := func(off, n uint64) bool { return off+n <= uint64(len(b)) }
	var pages []faxPage
	for off := uint64(bo.Uint32(b[4:])); off != 0; {
		if len(pages) > 100 || !in(off, 2) {
			return nil, fmt.Errorf("IFD at %d out of bounds", off)
		}
		n := uint64(bo.Uint16(b[off:]))
		if !in(off+2, n*12+4) {
			return nil, fmt.Errorf("IFD at %d out of bounds", off)
		}
		var p faxPage
		for i := range n {
			e := b[off+2+i*12:]
			tag, typ := bo.Uint16(e), bo.Uint16(e[2:])
			val := bo.Uint32(e[8:])
			if typ == 3 { // SHORT, left-justified in the value field
				val = uint32(bo.Uint16(e[8:]))
			}
			rational := func() float64 {
				if !in(uint64(val), 8) || bo.Uint32(b[val+4:]) == 0 {
					return 0
				}
				return float64(bo.Uint32(b[val:])) / float64(bo.Uint32(b[val+4:]))
			}
			switch tag {
			case 256:
				p.width = val
			case 257:
				p.height = val
			case 259:
				p.compression = val
			case 282:
				p.xres = rational()
			case 283:
				p.yres = rational()
			case 296:
				p.unit = val
			}
		}
		pages = append(pages, p)
		off = uint64(bo.Uint32(b[off+2+n*12:]))
	}
	return pages, nil
}

// checkTiffinfo cross-checks the TIFF with libtiff's tiffinfo, when it is
// installed.
func checkTiffinfo(t *testing.T, data []byte, pages int) {
	t.Helper()
	bin, err := exec.LookPath("tiffinfo")
	if err != nil {
		t.Log("tiffinfo not installed; the TIFF was checked by the test's own reader only")
		return
	}
	path := filepath.Join(t.TempDir(), "fax.tif")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, path).CombinedOutput()
	if err != nil {
		t.Fatalf("tiffinfo: %v\n%s", err, out)
	}
	for _, want := range []string{"Compression Scheme: CCITT Group 4", "Resolution: 204, 196 pixels/inch", "Image Width: 1728"} {
		if n := bytes.Count(out, []byte(want)); n != pages {
			t.Errorf("tiffinfo: %q on %d pages, want %d:\n%s", want, n, pages, out)
		}
	}
}
