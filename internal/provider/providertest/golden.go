package providertest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/google/go-cmp/cmp"
)

// volatile reports headers that differ between runs or Go versions; they
// stay out of the golden files.
func volatile(header string) bool { return header == "Accept-Encoding" || header == "Content-Length" }

// RenderRequest writes a request as a golden file holds it: method and
// path, the query decoded and sorted, the headers sorted (the Basic
// password and the multipart boundary masked), then each multipart part in
// order, a file part summarised by its name, filename, type, size and
// SHA-256.
func RenderRequest(tb testing.TB, r Request) string {
	tb.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.Path)
	q, err := url.ParseQuery(r.RawQuery)
	if err != nil {
		tb.Fatalf("query %q: %v", r.RawQuery, err)
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range q {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range q[k] {
			fmt.Fprintf(&b, "query %s=%s\n", k, v)
		}
	}
	var boundary string
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		if !volatile(k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range r.Header[k] {
			switch k {
			case "Authorization":
				v = maskAuthorization(tb, v)
			case "Content-Type":
				if mt, params, err := mime.ParseMediaType(v); err == nil && mt == "multipart/form-data" {
					boundary = params["boundary"]
					v = mt + "; boundary=BOUNDARY"
				}
			}
			fmt.Fprintf(&b, "header %s: %s\n", k, v)
		}
	}
	if boundary == "" {
		if len(r.Body) > 0 {
			fmt.Fprintf(&b, "body %s\n", r.Body)
		}
		return b.String()
	}
	for _, p := range Parts(tb, r.Body, boundary) {
		if p.Filename != "" {
			sum := sha256.Sum256(p.Data)
			fmt.Fprintf(&b, "file %s filename=%q content-type=%s size=%d sha256=%s\n", p.Name, p.Filename, p.ContentType, len(p.Data), hex.EncodeToString(sum[:]))
		} else {
			fmt.Fprintf(&b, "field %s=%q\n", p.Name, p.Data)
		}
	}
	return b.String()
}

func maskAuthorization(tb testing.TB, v string) string {
	tb.Helper()
	scheme, cred, _ := strings.Cut(v, " ")
	if scheme != "Basic" {
		return v
	}
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		tb.Fatalf("Authorization %q is not base64", v)
	}
	user, _, _ := strings.Cut(string(raw), ":")
	return "Basic " + user + ":***"
}

// FormPart is one part of a multipart body.
type FormPart struct {
	Name, Filename, ContentType string
	Data                        []byte
}

// Parts reads a multipart body with the standard library, keeping the
// order.
func Parts(tb testing.TB, body []byte, boundary string) []FormPart {
	tb.Helper()
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var out []FormPart
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatalf("multipart body: %v", err)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			tb.Fatalf("multipart part: %v", err)
		}
		out = append(out, FormPart{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), data})
	}
}

// Field returns the value of the first part of r called name.
func Field(tb testing.TB, r Request, name string) string {
	tb.Helper()
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range Parts(tb, r.Body, params["boundary"]) {
		if p.Name == name {
			return string(p.Data)
		}
	}
	tb.Fatalf("request has no part %q", name)
	return ""
}

// CheckGolden compares got with testdata/requests/name.golden of the
// calling package, rewriting it when update is set (go test -update).
func CheckGolden(tb testing.TB, name, got string, update bool) {
	tb.Helper()
	path := "testdata/requests/" + name + ".golden"
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		tb.Errorf("request differs from %s (-want +got):\n%s", path, diff)
	}
}

// SendError returns err's *fax.SendError, failing the test for any other
// error.
func SendError(tb testing.TB, err error) *fax.SendError {
	tb.Helper()
	var se *fax.SendError
	if !errors.As(err, &se) {
		tb.Fatalf("got error %v (%T), want a *fax.SendError", err, err)
	}
	return se
}

// WantCode fails the test unless err is a *fax.Error with code.
func WantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	var fe *fax.Error
	if !errors.As(err, &fe) || fe.Code != code {
		tb.Fatalf("got error %v, want *fax.Error with code %s", err, code)
	}
}
