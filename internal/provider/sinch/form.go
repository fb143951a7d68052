package sinch

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
)

// Limits on form bodies. The caller already bounds the body's size; these
// bound the work and memory spent on one body's structure.
const (
	maxParts      = 100     // form fields and file parts together
	maxFieldBytes = 1 << 20 // one non-file field, such as the fax JSON
)

// bodyKind is the shape a webhook body arrives in.
type bodyKind int

const (
	kindJSON bodyKind = iota
	kindMultipart
	kindURLEncoded
)

// kindOf reads the shape from the Content-Type, sniffing only when it is
// absent or says nothing useful.
func kindOf(contentType string, body []byte) (bodyKind, string, error) {
	if strings.TrimSpace(contentType) != "" {
		mt, params, err := mime.ParseMediaType(contentType)
		if err != nil {
			return 0, "", fax.Errorf(fax.ECodeInvalid, "Content-Type is malformed")
		}
		switch {
		case mt == "multipart/form-data":
			b := params["boundary"]
			if b == "" {
				return 0, "", fax.Errorf(fax.ECodeInvalid, "multipart Content-Type has no boundary")
			}
			return kindMultipart, b, nil
		case mt == "application/x-www-form-urlencoded":
			return kindURLEncoded, "", nil
		case mt == "application/json" || strings.HasSuffix(mt, "+json"):
			return kindJSON, "", nil
		}
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return kindJSON, "", nil
	}
	return kindURLEncoded, "", nil
}

// part is one form field or file part.
type part struct {
	name  string
	value []byte
	file  bool // a multipart part with a filename
}

// form is a parsed form body. Its parts are sorted once, fields before files
// and each group stably by name; parts of one name keep their order in the
// body.
type form struct {
	parts []part
}

// field returns the first value of the non-file field name.
func (f *form) field(name string) ([]byte, bool) {
	for i := range f.parts {
		if p := &f.parts[i]; !p.file && p.name == name {
			return p.value, true
		}
	}
	return nil, false
}

// document returns the first file part that carries the fax document.
func (f *form) document() ([]byte, bool) {
	for i := range f.parts {
		if p := &f.parts[i]; p.file && isFileName(p.name) {
			return p.value, true
		}
	}
	return nil, false
}

func (f *form) sort() {
	slices.SortStableFunc(f.parts, func(a, b part) int {
		if a.file != b.file {
			if a.file {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.name, b.name)
	})
}

// parseForm parses a multipart or urlencoded body, bounded by maxParts and
// maxFieldBytes. Errors are *fax.Error with code invalid.
func parseForm(kind bodyKind, boundary string, body []byte) (*form, error) {
	var f *form
	var err error
	if kind == kindMultipart {
		f, err = parseMultipart(boundary, body)
	} else {
		f, err = parseURLEncoded(body)
	}
	if err != nil {
		return nil, err
	}
	f.sort()
	return f, nil
}

func parseMultipart(boundary string, body []byte) (*form, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	f := &form{}
	// Every part's content is a piece of the body, so one buffer of the
	// body's size holds them all and values can share it.
	buf := make([]byte, 0, len(body))
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return nil, fax.Errorf(fax.ECodeInvalid, "multipart body is malformed")
		}
		if n == maxParts {
			return nil, fax.Errorf(fax.ECodeInvalid, "multipart body has more than %d parts", maxParts)
		}
		name := p.FormName()
		file := p.FileName() != "" || isFileName(name)
		limit := maxFieldBytes
		if file {
			limit = len(body)
		}
		start := len(buf)
		if buf, err = readPart(buf, p, limit); err != nil {
			return nil, err
		}
		if len(buf)-start > limit {
			return nil, fax.Errorf(fax.ECodeInvalid, "field %s is larger than %d bytes", safeName(name), limit)
		}
		if name == "" {
			continue
		}
		v := buf[start:len(buf):len(buf)]
		if strings.EqualFold(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")), "base64") {
			if v, err = decodeBase64(v); err != nil {
				return nil, fax.Errorf(fax.ECodeInvalid, "part %s is not valid base64", safeName(name))
			}
		}
		f.parts = append(f.parts, part{name: name, value: v, file: file})
	}
}

// isFileName reports whether a part of this name carries the fax document,
// which Sinch may send without a filename.
func isFileName(name string) bool {
	return name == "file" || name == "files" || name == "files[]"
}

// readPart appends p's content to dst, stopping once more than limit bytes
// were read.
func readPart(dst []byte, p io.Reader, limit int) ([]byte, error) {
	start := len(dst)
	for len(dst)-start <= limit {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, 4096)
		}
		n, err := p.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if errors.Is(err, io.EOF) {
			return dst, nil
		}
		if err != nil {
			return nil, fax.Errorf(fax.ECodeInvalid, "multipart body is malformed")
		}
	}
	return dst, nil
}

func parseURLEncoded(body []byte) (*form, error) {
	if bytes.Count(body, []byte("&")) >= maxParts {
		return nil, fax.Errorf(fax.ECodeInvalid, "form body has more than %d fields", maxParts)
	}
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fax.Errorf(fax.ECodeInvalid, "form body is malformed")
	}
	f := &form{}
	for name, vs := range q {
		for _, v := range vs {
			if len(v) > maxFieldBytes {
				return nil, fax.Errorf(fax.ECodeInvalid, "field %s is larger than %d bytes", safeName(name), maxFieldBytes)
			}
			f.parts = append(f.parts, part{name: name, value: []byte(v)})
		}
	}
	return f, nil
}

// safeName quotes a field name for an error message, shortened so that a
// hostile body cannot fill logs.
func safeName(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}
