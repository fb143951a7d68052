package carrier

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
	MaxParts      = 100     // form fields and file parts together
	MaxFieldBytes = 1 << 20 // one non-file field, such as the fax JSON
)

// BodyKind is the shape a webhook body arrives in.
type BodyKind int

const (
	KindJSON BodyKind = iota
	KindMultipart
	KindURLEncoded
)

// KindOf reads the shape and any multipart boundary from the Content-Type,
// sniffing only when it is absent or says nothing useful. A carrier's
// verifier and parsers share it so that both always see the same body the
// same way.
func KindOf(contentType string, body []byte) (BodyKind, string, error) {
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
			return KindMultipart, b, nil
		case mt == "application/x-www-form-urlencoded":
			return KindURLEncoded, "", nil
		case mt == "application/json" || strings.HasSuffix(mt, "+json"):
			return KindJSON, "", nil
		}
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return KindJSON, "", nil
	}
	return KindURLEncoded, "", nil
}

// Part is one form field or file part.
type Part struct {
	Name  string
	Value []byte
	File  bool // a multipart part with a filename, or one FormRules.FileFunc names
}

// Form is a parsed form body. Its parts are sorted once, fields before files
// and each group stably by name, which is the order Phaxio's signature
// wants; parts of one name keep their order in the body.
type Form struct {
	Parts []Part
}

// Field returns the first value of the non-file field name.
func (f *Form) Field(name string) ([]byte, bool) {
	for i := range f.Parts {
		if p := &f.Parts[i]; !p.File && p.Name == name {
			return p.Value, true
		}
	}
	return nil, false
}

// File returns the first file part called name.
func (f *Form) File(name string) ([]byte, bool) {
	for i := range f.Parts {
		if p := &f.Parts[i]; p.File && p.Name == name {
			return p.Value, true
		}
	}
	return nil, false
}

// Sort orders the parts as ParseForm leaves them: fields before files, each
// group stably by name.
func (f *Form) Sort() {
	slices.SortStableFunc(f.Parts, func(a, b Part) int {
		if a.File != b.File {
			if a.File {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Name, b.Name)
	})
}

// FormRules are a carrier's departures from plain form parsing; the zero
// value parses plainly.
type FormRules struct {
	// FileFunc reports whether a multipart part of this name is a file even
	// without a filename. Nil: only parts with a filename are.
	FileFunc func(name string) bool
	// Base64 decodes multipart parts sent with Content-Transfer-Encoding
	// base64 (see DecodeBase64).
	Base64 bool
}

// ParseForm parses a multipart or urlencoded body, bounded by MaxParts and
// MaxFieldBytes. Errors are *fax.Error with code invalid.
func ParseForm(kind BodyKind, boundary string, body []byte, rules FormRules) (*Form, error) {
	var f *Form
	var err error
	if kind == KindMultipart {
		f, err = parseMultipart(boundary, body, rules)
	} else {
		f, err = parseURLEncoded(body)
	}
	if err != nil {
		return nil, err
	}
	f.Sort()
	return f, nil
}

func parseMultipart(boundary string, body []byte, rules FormRules) (*Form, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	f := &Form{}
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
		if n == MaxParts {
			return nil, fax.Errorf(fax.ECodeInvalid, "multipart body has more than %d parts", MaxParts)
		}
		name := p.FormName()
		file := p.FileName() != "" || (rules.FileFunc != nil && rules.FileFunc(name))
		limit := MaxFieldBytes
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
		if rules.Base64 && strings.EqualFold(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")), "base64") {
			if v, err = DecodeBase64(v); err != nil {
				return nil, fax.Errorf(fax.ECodeInvalid, "part %s is not valid base64", safeName(name))
			}
		}
		f.Parts = append(f.Parts, Part{Name: name, Value: v, File: file})
	}
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

func parseURLEncoded(body []byte) (*Form, error) {
	if bytes.Count(body, []byte("&")) >= MaxParts {
		return nil, fax.Errorf(fax.ECodeInvalid, "form body has more than %d fields", MaxParts)
	}
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fax.Errorf(fax.ECodeInvalid, "form body is malformed")
	}
	f := &Form{}
	for name, vs := range q {
		for _, v := range vs {
			if len(v) > MaxFieldBytes {
				return nil, fax.Errorf(fax.ECodeInvalid, "field %s is larger than %d bytes", safeName(name), MaxFieldBytes)
			}
			f.Parts = append(f.Parts, Part{Name: name, Value: []byte(v)})
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
