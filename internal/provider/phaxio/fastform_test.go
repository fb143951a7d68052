package phaxio

import (
	"bytes"
	"mime/multipart"
	"testing"

	"github.com/faxgate/faxgate/internal/provider/carrier"
	"github.com/google/go-cmp/cmp"
)

// FuzzCanonicalMultipart holds the fast path to the general parser: on any
// body it accepts, carrier.ParseForm must accept the same body and give the
// same parts.
func FuzzCanonicalMultipart(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		if kind, boundary, err := carrier.KindOf(fx.contentType, fx.body); err == nil && kind == carrier.KindMultipart {
			f.Add(boundary, fx.body)
		}
	}
	for _, body := range []string{
		"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\"a\"; filename=\"f.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--b--\r\n",
		"--b\r\nContent-Disposition: form-data; name=\"a\"; filename=\"\"\r\n\r\n\r\n--b\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n--bx\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--b--tail",
		"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--b \r\nContent-Disposition: form-data; name=\"c\"\r\n\r\nw\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--bb\r\ny\r\n--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nz\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n--b\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\"a b\"; filename=\"c;d\"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\r\n\r\n--b--\r\n",
	} {
		f.Add("b", []byte(body))
	}
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		if !isToken(boundary) {
			return
		}
		fast, ok := parseCanonicalMultipart(boundary, body)
		if !ok {
			return
		}
		fast.Sort()
		general, err := carrier.ParseForm(carrier.KindMultipart, boundary, body, carrier.FormRules{})
		if err != nil {
			t.Fatalf("fast path accepted what carrier.ParseForm refuses (%v):\n%q", err, body)
		}
		norm := func(f *carrier.Form) []carrier.Part {
			out := make([]carrier.Part, len(f.Parts))
			for i, p := range f.Parts {
				out[i] = carrier.Part{Name: p.Name, Value: append([]byte{}, p.Value...), File: p.File}
			}
			return out
		}
		if diff := cmp.Diff(norm(general), norm(fast)); diff != "" {
			t.Fatalf("fast path differs from carrier.ParseForm (-general +fast):\n%s\nbody %q", diff, body)
		}
	})
}

// FuzzKindOf holds the fast Content-Type reading to carrier.KindOf.
func FuzzKindOf(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add(fx.contentType)
	}
	f.Add("multipart/form-data; boundary=abc")
	f.Add("multipart/form-data; boundary=a/b")
	f.Add(`multipart/form-data; boundary="abc"`)
	f.Fuzz(func(t *testing.T, contentType string) {
		k1, b1, err1 := kindOf(contentType, nil)
		k2, b2, err2 := carrier.KindOf(contentType, nil)
		if k1 != k2 || b1 != b2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("kindOf(%q) = %v %q %v; carrier.KindOf = %v %q %v", contentType, k1, b1, err1, k2, b2, err2)
		}
	})
}

// TestCanonicalMultipartWriter: what Go's own multipart writer makes, the
// shape of most senders, takes the fast path.
func TestCanonicalMultipartWriter(t *testing.T) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("fax", `{"id":1}`)
	w.WriteField("event_type", "transmitting_page")
	fw, _ := w.CreateFormFile("file", "fax.pdf")
	fw.Write([]byte("%PDF-1.4\r\n--not a boundary\r\n"))
	w.Close()
	kind, boundary, err := kindOf(w.FormDataContentType(), buf.Bytes())
	if err != nil || kind != carrier.KindMultipart {
		t.Fatalf("kindOf = %v %q %v", kind, boundary, err)
	}
	f, ok := parseCanonicalMultipart(boundary, buf.Bytes())
	if !ok || len(f.Parts) != 3 {
		t.Fatalf("got %+v %v, want the fast path to read 3 parts", f, ok)
	}
	if v, _ := f.Field("event_type"); string(v) != "transmitting_page" {
		t.Errorf("event_type = %q", v)
	}
	if v, _ := f.File("file"); string(v) != "%PDF-1.4\r\n--not a boundary\r\n" {
		t.Errorf("file = %q", v)
	}
}
