package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/provider/providertest"
)

// coverPhaxio is Phaxio's API on loopback accepting every send; it keeps
// each request so that the test can read the document Phaxio was given.
func coverPhaxio(t *testing.T, opts ...gatewayOption) (*gateway, *providertest.Fake) {
	fake := providertest.NewFake(t, providertest.AnswerJSON(t, 200, `{"success":true,"message":"Fax queued for sending","data":{"id":4242}}`))
	addr := freeAddr(t)
	opts = append([]gatewayOption{
		withEnv("FAXGATE_ADDR", addr), withEnv("FAXGATE_PUBLIC_URL", "http://"+addr),
		withEnv("FAXGATE_PROVIDER", "phaxio"), withEnv("PHAXIO_API_KEY", "phaxio-key"),
		withEnv("PHAXIO_API_SECRET", "phaxio-secret"), withEnv("PHAXIO_WEBHOOK_TOKEN", "phaxio-webhook-token"),
		withEnv("PHAXIO_BASE_URL", fake.URL("/v2.1")),
	}, opts...)
	return startGateway(t, opts...), fake
}

// carrierDocument waits for the carrier's first send request and returns
// the file it carried.
func carrierDocument(t *testing.T, fake *providertest.Fake) []byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(fake.Requests()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the carrier got no send within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	req := fake.Requests()[0]
	_, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(bytes.NewReader(req.Body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("the carrier's send has no file part: %v", err)
		}
		if p.FormName() == "file" {
			b, _ := io.ReadAll(p)
			return b
		}
	}
}

// squashed is text with runs of white space made one space.
func squashed(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestCoverPageEndToEnd: a send with cover fields is answered with the
// pages counted with the cover, and the document the carrier receives
// starts with the cover (fields, page count and the confidential notice,
// as poppler reads them), followed by the document sent.
func TestCoverPageEndToEnd(t *testing.T) {
	t.Parallel()
	g, fake := coverPhaxio(t)
	fields := map[string]string{
		"to": "+15551234567", "cover_to": "Dr. Ana Smith", "cover_from": "Riverside Clinic", "cover_subject": "Referral",
		"cover_message": "Please see the attached referral.\r\nThank you.", "cover_confidential": "true",
	}
	var f faxObj
	if code := g.do("POST", "/v1/faxes", multipartSend(fields, textDoc), &f); code != http.StatusAccepted {
		t.Fatalf("send: got %d, want 202", code)
	}
	if f.Pages != 2 {
		t.Fatalf("got pages %d, want 2 (the cover and one page of text)", f.Pages)
	}
	pdf := carrierDocument(t, fake)
	if info := poppler(t, "pdfinfo", pdf); !strings.Contains(info, "\nPages:           2\n") {
		t.Fatalf("pdfinfo reads:\n%s\nwant 2 pages", info)
	}
	cover := squashed(poppler(t, "pdftotext", pdf, "-layout", "-f", "1", "-l", "1"))
	for _, want := range []string{"FAX", "To: Dr. Ana Smith", "From: Riverside Clinic", "Subject: Referral", "Pages: 2 (including this cover page)",
		"Please see the attached referral. Thank you.", "confidential health information", "notify the sender immediately and destroy all pages"} {
		if !strings.Contains(cover, want) {
			t.Errorf("the carrier's page 1 reads %q; want %q in it", cover, want)
		}
	}
	if page2 := poppler(t, "pdftotext", pdf, "-f", "2", "-l", "2"); !strings.Contains(page2, "please find the referral attached") {
		t.Errorf("the carrier's page 2 reads %q; want the document", page2)
	}
	var stored []byte
	if code := g.do("GET", "/v1/faxes/"+f.ID+"/document", nil, &stored); code != http.StatusOK || !bytes.Equal(stored, pdf) {
		t.Errorf("document: got %d and %d bytes, want 200 and the %d bytes the carrier got", code, len(stored), len(pdf))
	}
}

// TestCoverPageJSON: the JSON send takes the cover fields too, with
// cover_confidential a boolean; a cover only asking for the notice is a
// cover.
func TestCoverPageJSON(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	for name, tt := range map[string]struct {
		body  map[string]any
		pages int
		want  []string
	}{
		"fields":       {map[string]any{"cover_to": "Records", "cover_subject": "Results"}, 2, []string{"To: Records", "Subject: Results", "Pages: 2"}},
		"notice only":  {map[string]any{"cover_confidential": true}, 2, []string{"FAX", "confidential health information"}},
		"false is not": {map[string]any{"cover_confidential": false}, 1, nil},
	} {
		t.Run(name, func(t *testing.T) {
			body := map[string]any{"to": "+15551234567", "content_base64": "SGVsbG8sIGZheC4K", "filename": "hello.txt"}
			for k, v := range tt.body {
				body[k] = v
			}
			var f faxObj
			if code := g.do("POST", "/v1/faxes", body, &f); code != http.StatusAccepted || f.Pages != tt.pages {
				t.Fatalf("send: got %d with %d pages, want 202 with %d", code, f.Pages, tt.pages)
			}
			var pdf []byte
			g.do("GET", "/v1/faxes/"+f.ID+"/document", nil, &pdf)
			page1 := squashed(poppler(t, "pdftotext", pdf, "-layout", "-f", "1", "-l", "1"))
			if tt.want == nil && page1 != "Hello, fax." {
				t.Fatalf("page 1 reads %q; want the document alone", page1)
			}
			for _, want := range tt.want {
				if !strings.Contains(page1, want) {
					t.Errorf("page 1 reads %q; want %q in it", page1, want)
				}
			}
		})
	}
}

// TestCoverPageWithoutCoverFields: a send without cover fields stores and
// sends the document exactly as uploaded.
func TestCoverPageWithoutCoverFields(t *testing.T) {
	t.Parallel()
	g, fake := coverPhaxio(t)
	pdf := []byte(minimalPDF)
	f := g.send("+15551234567", pdf)
	if f.Pages != 1 {
		t.Fatalf("got pages %d, want 1", f.Pages)
	}
	if got := carrierDocument(t, fake); !bytes.Equal(got, pdf) {
		t.Fatalf("the carrier got %d bytes, want the %d uploaded", len(got), len(pdf))
	}
}

// minimalPDF is a one-page PDF with a correct xref table.
const minimalPDF = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>\nendobj\nxref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \ntrailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n188\n%%EOF\n"

// TestCoverPageBadFields: cover fields out of bounds are refused with 400
// and the JSON error shape, naming the field, and create nothing.
func TestCoverPageBadFields(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	long := strings.Repeat("a", 4001)
	for name, tt := range map[string]struct {
		fields map[string]string // multipart
		json   map[string]any    // or JSON
		want   string
	}{
		"to too long":                {fields: map[string]string{"cover_to": strings.Repeat("x", 101)}, want: "cover_to: at most 100 characters"},
		"from with a line break":     {fields: map[string]string{"cover_from": "a\nb"}, want: "cover_from: control character U+000A"},
		"subject with an escape":     {fields: map[string]string{"cover_subject": "a\x1b[2Jb"}, want: "cover_subject: control character U+001B"},
		"message too long":           {fields: map[string]string{"cover_message": long}, want: "cover_message: at most 4000 characters, got 4001"},
		"message over the byte cap":  {fields: map[string]string{"cover_message": strings.Repeat("a", 20000)}, want: "field cover_message is longer than"},
		"message with NUL":           {fields: map[string]string{"cover_message": "a\x00b"}, want: "cover_message: control character U+0000"},
		"message not UTF-8":          {fields: map[string]string{"cover_message": "a\xffb"}, want: "cover_message: not valid UTF-8"},
		"confidential not a boolean": {fields: map[string]string{"cover_confidential": "maybe"}, want: "cover_confidential: want true or false"},
		"JSON message too long":      {json: map[string]any{"cover_message": long}, want: "cover_message: at most 4000 characters"},
		"JSON too many lines":        {json: map[string]any{"cover_message": strings.Repeat("a\n", 100) + "a"}, want: "cover_message: at most 100 lines"},
		"JSON confidential a string": {json: map[string]any{"cover_confidential": "yes"}, want: "cover_confidential"},
	} {
		t.Run(name, func(t *testing.T) {
			var body any
			if tt.json != nil {
				m := map[string]any{"to": "+15551234567", "content_base64": "SGVsbG8K", "filename": "a.txt"}
				for k, v := range tt.json {
					m[k] = v
				}
				body = m
			} else {
				fields := map[string]string{"to": "+15551234567"}
				for k, v := range tt.fields {
					fields[k] = v
				}
				body = multipartSend(fields, textDoc)
			}
			var e struct {
				Error struct{ Code, Message, RequestID string } `json:"error"`
			}
			if code := g.do("POST", "/v1/faxes", body, &e); code != http.StatusBadRequest {
				t.Fatalf("got %d %+v, want 400", code, e)
			}
			if e.Error.Code != "invalid" || !strings.Contains(e.Error.Message, tt.want) {
				t.Fatalf("got %+v, want code invalid and %q", e.Error, tt.want)
			}
		})
	}
	if n := g.faxCount(t); n != 0 {
		t.Fatalf("%d faxes were created, want none", n)
	}
}

// TestCoverSettings: FAXGATE_COVER_TEMPLATE and FAXGATE_COVER_LOGO shape
// every cover, and a file that cannot be used stops the start-up with
// the setting's name.
func TestCoverSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	m := image.NewGray(image.Rect(0, 0, 300, 60))
	for i := range m.Pix {
		m.Pix[i] = color.Gray{}.Y
	}
	var logo bytes.Buffer
	png.Encode(&logo, m)
	tmpl := write("cover.txt", []byte("# Riverside Clinic\nAttention:\t{{to}}\nSheets:\t{{pages}}\n{{message}}\n"))
	g := startGateway(t, withEnv("FAXGATE_COVER_TEMPLATE", tmpl), withEnv("FAXGATE_COVER_LOGO", write("logo.png", logo.Bytes())))
	var f faxObj
	if code := g.do("POST", "/v1/faxes", multipartSend(map[string]string{"to": "+15551234567", "cover_to": "Records"}, textDoc), &f); code != http.StatusAccepted {
		t.Fatalf("send: got %d, want 202", code)
	}
	var pdf []byte
	g.do("GET", "/v1/faxes/"+f.ID+"/document", nil, &pdf)
	if got := squashed(poppler(t, "pdftotext", pdf, "-layout", "-f", "1", "-l", "1")); got != "Riverside Clinic Attention: Records Sheets: 2" {
		t.Fatalf("page 1 reads %q; want the operator's template", got)
	}
	if list := poppler(t, "pdfimages", pdf, "-list"); len(strings.Split(strings.TrimSpace(list), "\n")) != 3 {
		t.Fatalf("pdfimages lists:\n%s\nwant the logo alone", list)
	}

	for name, tt := range map[string]struct{ env, value, want string }{
		"missing logo":        {"FAXGATE_COVER_LOGO", filepath.Join(dir, "none.png"), "FAXGATE_COVER_LOGO: open"},
		"logo not an image":   {"FAXGATE_COVER_LOGO", tmpl, "FAXGATE_COVER_LOGO: " + tmpl + ": the cover logo is not a PNG or JPEG image"},
		"unknown placeholder": {"FAXGATE_COVER_TEMPLATE", write("bad.txt", []byte("To: {{patient}}")), "FAXGATE_COVER_TEMPLATE: " + dir + "/bad.txt: cover template line 1: unknown placeholder {{patient}}"},
		"empty template":      {"FAXGATE_COVER_TEMPLATE", write("empty.txt", nil), "is empty"},
	} {
		env := map[string]string{"FAXGATE_DATA_DIR": t.TempDir(), "FAXGATE_ADDR": "127.0.0.1:0", tt.env: tt.value}
		err := openMainErr(t, env)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Open: got %v, want an error with %q", name, err, tt.want)
		}
	}
}

// openMainErr opens a Main with env and returns Open's error, closing
// whatever it opened.
func openMainErr(t *testing.T, env map[string]string) error {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] }, "")
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Now: time.Now, Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	err = m.Open(context.Background())
	m.Close()
	return err
}

// TestCoverPageIdempotency: a repeat under the same Idempotency-Key with
// the same cover returns the same fax; with another cover it is another
// request, refused with 409.
func TestCoverPageIdempotency(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	send := func(subject string) (int, faxObj) {
		t.Helper()
		mb := multipartSend(map[string]string{"to": "+15551234567", "cover_subject": subject}, textDoc)
		req, _ := http.NewRequest("POST", g.url+"/v1/faxes", bytes.NewReader(mb.buf.Bytes()))
		req.Header.Set("Content-Type", mb.ct)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		req.Header.Set("Idempotency-Key", "cover-key-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var f faxObj
		json.NewDecoder(resp.Body).Decode(&f)
		return resp.StatusCode, f
	}
	code, first := send("Results")
	if code != http.StatusAccepted || first.Pages != 2 {
		t.Fatalf("first send: got %d with %d pages, want 202 with 2", code, first.Pages)
	}
	if code, again := send("Results"); code != http.StatusAccepted || again.ID != first.ID {
		t.Fatalf("repeat: got %d %s, want 202 %s", code, again.ID, first.ID)
	}
	if code, _ := send("Other results"); code != http.StatusConflict {
		t.Fatalf("same key, another cover: got %d, want 409", code)
	}
}
