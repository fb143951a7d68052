package asterisk

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/asterisk/amitest"
)

// AMI credentials the fake manager interface (amitest) accepts.
const (
	amiUser   = amitest.User
	amiSecret = amitest.Secret
)

// recorder plays Config.Apply, keeping every update.
type recorder struct {
	mu  sync.Mutex
	ups []fax.Update
	ch  chan fax.Update
}

func newRecorder() *recorder { return &recorder{ch: make(chan fax.Update, 100)} }

func (r *recorder) apply(ctx context.Context, u *fax.Update) (fax.ApplyResult, error) {
	r.mu.Lock()
	r.ups = append(r.ups, *u)
	r.mu.Unlock()
	r.ch <- *u
	return fax.ApplyResult{FaxID: u.FaxID, Applied: true}, nil
}

// next waits for the next update.
func (r *recorder) next(t *testing.T) fax.Update {
	t.Helper()
	select {
	case u := <-r.ch:
		return u
	case <-time.After(5 * time.Second):
		t.Fatal("no update applied within 5s")
		return fax.Update{}
	}
}

// none checks that no update arrives within d.
func (r *recorder) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case u := <-r.ch:
		t.Errorf("got update %+v, want none", u)
	case <-time.After(d):
	}
}

// gsOrStandIn returns Ghostscript's path, or a program that exists, for
// tests that send fax TIFFs and so never run Ghostscript.
func gsOrStandIn() string {
	if p, err := exec.LookPath("gs"); err == nil {
		return p
	}
	if p, err := exec.LookPath("true"); err == nil {
		return p
	}
	return "/bin/sh"
}

// senderConfig is a sending configuration against fake, with short waits.
func senderConfig(t *testing.T, fake *amitest.Server, rec *recorder) Config {
	t.Helper()
	return Config{
		SpoolDir: t.TempDir(),
		AMIHost:  "127.0.0.1", AMIPort: fake.Port(), AMIUser: amiUser, AMISecret: amiSecret,
		Apply:           rec.apply,
		GhostscriptPath: gsOrStandIn(),
		ReconnectMin:    20 * time.Millisecond,
		ReconnectMax:    100 * time.Millisecond,
		PingInterval:    time.Hour,
		ActionTimeout:   2 * time.Second,
		ConnectWait:     2 * time.Second,
		FaxTimeout:      5 * time.Second,
	}
}

func newSender(t *testing.T, cfg Config) *Provider {
	t.Helper()
	p := mustNew(t, cfg)
	t.Cleanup(func() { p.Close() })
	return p
}

func outboundJob(id, to string) *fax.DispatchJob {
	return &fax.DispatchJob{Attempt: 1, Fax: &fax.Fax{
		ID: id, Direction: fax.Outbound, Status: fax.StatusQueued, To: to, From: "+15551230000",
		Provider: Name, HeaderText: "Acme Clinic, Inc. (front desk)",
	}}
}

// faxTIFF builds a valid TIFF/F: pages white pages of width × height dots,
// CCITT G4 at 204×196 dpi. All-white G4 rows are each one V0 code ("1");
// the strip ends with EOFB.
func faxTIFF(pages int, width, height uint32, compression uint16) []byte {
	var out bytes.Buffer
	le := binary.LittleEndian
	out.Write([]byte("II*\x00\x00\x00\x00\x00"))
	var prevNext int // offset of the previous IFD's next-IFD field
	for pg := 0; pg < pages; pg++ {
		// Strip: height one-bits, then EOFB (000000000001 twice).
		var bits []byte
		var cur byte
		n := 0
		put := func(b byte) {
			cur = cur<<1 | b
			n++
			if n == 8 {
				bits = append(bits, cur)
				cur, n = 0, 0
			}
		}
		for range height {
			put(1)
		}
		for range 2 {
			for range 11 {
				put(0)
			}
			put(1)
		}
		for n != 0 {
			put(0)
		}
		stripOff := out.Len()
		out.Write(bits)
		if out.Len()%2 == 1 {
			out.WriteByte(0)
		}
		resOff := out.Len()
		binary.Write(&out, le, [4]uint32{204, 1, 196, 1})
		ifdOff := out.Len()
		type entry struct {
			tag, typ uint16
			count    uint32
			value    uint32
		}
		entries := []entry{
			{254, typeLong, 1, 2},
			{tagImageWidth, typeLong, 1, width},
			{tagImageLength, typeLong, 1, height},
			{tagBitsPerSample, typeShort, 1, 1},
			{tagCompression, typeShort, 1, uint32(compression)},
			{262, typeShort, 1, 0},
			{273, typeLong, 1, uint32(stripOff)},
			{tagSamplesPerPixel, typeShort, 1, 1},
			{278, typeLong, 1, height},
			{279, typeLong, 1, uint32(len(bits))},
			{tagXResolution, typeRational, 1, uint32(resOff)},
			{tagYResolution, typeRational, 1, uint32(resOff + 8)},
			{tagResolutionUnit, typeShort, 1, 2},
			{297, typeShort, 2, uint32(pg) | uint32(pages)<<16},
		}
		binary.Write(&out, le, uint16(len(entries)))
		for _, e := range entries {
			binary.Write(&out, le, e.tag)
			binary.Write(&out, le, e.typ)
			binary.Write(&out, le, e.count)
			binary.Write(&out, le, e.value)
		}
		next := out.Len()
		binary.Write(&out, le, uint32(0))
		b := out.Bytes()
		if pg == 0 {
			le.PutUint32(b[4:], uint32(ifdOff))
		} else {
			le.PutUint32(b[prevNext:], uint32(ifdOff))
		}
		prevNext = next
	}
	return out.Bytes()
}

// samplePDF builds a small PDF by hand: pages US Letter pages, each with a
// line of Helvetica text, and a correct cross-reference table.
func samplePDF(pages int) []byte {
	var objs []string
	kids := make([]string, pages)
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
	}
	objs = append(objs,
		"<< /Type /Catalog /Pages 2 0 R >>",
		fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	)
	for i := range pages {
		content := fmt.Sprintf("BT /F1 36 Tf 72 680 Td (faxgate test page %d) Tj ET\n0 0 0 RG 8 w 72 600 m 540 600 l S", i+1)
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i),
			fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content)+1, content),
		)
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// TIFF tags and types faxTIFF writes.
const (
	tagImageWidth      = 256
	tagImageLength     = 257
	tagBitsPerSample   = 258
	tagCompression     = 259
	tagSamplesPerPixel = 277
	tagXResolution     = 282
	tagYResolution     = 283
	tagResolutionUnit  = 296

	typeShort    = 3
	typeLong     = 4
	typeRational = 5
)
