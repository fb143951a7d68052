package gofax

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/faxgate/faxgate/internal/fax"
)

// Limits on what a webhook may carry. GoFax sends a handful of short fields;
// anything far larger is not GoFax.
const (
	maxParts    = 64   // multipart parts read from one webhook
	maxValueLen = 4096 // bytes in one multipart field value
	maxIDLen    = 128  // bytes in an id (ID, FaxID, job_id)
	maxMsgLen   = 500  // bytes of carrier Message kept in a Failure
)

// form is a webhook's fields: the URL's query, to which GoFax appends its
// event fields when the webhook URL already has parameters, and the body.
type form struct {
	query url.Values
	body  url.Values
}

// readForm reads the query and the body (URL-encoded, or multipart/form-data
// for tolerance since GoFax's guide calls it "form-data"). File parts are
// skipped: GoFax webhooks carry metadata only.
func readForm(r *http.Request, body []byte) (form, error) {
	var f form
	var err error
	if r.URL != nil {
		if f.query, err = url.ParseQuery(r.URL.RawQuery); err != nil {
			return form{}, fax.Errorf(fax.ECodeInvalid, "the query string is not valid URL encoding")
		}
	}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "multipart/form-data":
		f.body, err = readMultipart(body, params["boundary"])
		if err != nil {
			return form{}, err
		}
	case len(bytes.TrimSpace(body)) == 0:
		f.body = url.Values{}
	default:
		if f.body, err = url.ParseQuery(string(body)); err != nil {
			return form{}, fax.Errorf(fax.ECodeInvalid, "the body is not URL-encoded form data")
		}
	}
	return f, nil
}

func readMultipart(body []byte, boundary string) (url.Values, error) {
	bad := fax.Errorf(fax.ECodeInvalid, "the body is not valid multipart/form-data")
	if boundary == "" {
		return nil, bad
	}
	vals := url.Values{}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return vals, nil
		}
		if err != nil {
			return nil, bad
		}
		if n >= maxParts {
			return nil, fax.Errorf(fax.ECodeInvalid, "the body has more than %d parts", maxParts)
		}
		name := part.FormName()
		if name == "" || part.FileName() != "" {
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, maxValueLen+1))
		if err != nil {
			return nil, bad
		}
		if len(v) > maxValueLen {
			return nil, fax.Errorf(fax.ECodeInvalid, "field %s is longer than %d bytes", safeName(name), maxValueLen)
		}
		vals.Add(name, string(v))
	}
}

// has reports whether name appears anywhere, even empty.
func (f form) has(name string) bool {
	_, q := f.query[name]
	_, b := f.body[name]
	return q || b
}

// get returns name's value, trimmed, or "" when absent. A field given more
// than once must always carry the same value: two different job_ids (one in
// the query, one in the body) would let verification and parsing disagree
// about which fax a callback is for.
func (f form) get(name string) (string, error) {
	var v string
	seen := false
	for _, src := range [...]url.Values{f.query, f.body} {
		for _, s := range src[name] {
			s = strings.TrimSpace(s)
			if seen && s != v {
				return "", fax.Errorf(fax.ECodeInvalid, "field %s is given more than once with different values", name)
			}
			v, seen = s, true
		}
	}
	return v, nil
}

// required returns name's value or an invalid error naming the field.
func (f form) required(name string) (string, error) {
	v, err := f.get(name)
	if err != nil {
		return "", err
	}
	if v == "" {
		return "", fax.Errorf(fax.ECodeInvalid, "field %s is required", name)
	}
	return v, nil
}

// id returns name's value checked as an identifier: short, printable, no
// spaces. Ids end up in event keys, logs and store lookups.
func (f form) id(name string, required bool) (string, error) {
	v, err := f.get(name)
	if err != nil {
		return "", err
	}
	if v == "" {
		if required {
			return "", fax.Errorf(fax.ECodeInvalid, "field %s is required", name)
		}
		return "", nil
	}
	if !validID(v) {
		return "", fax.Errorf(fax.ECodeInvalid, "field %s must be at most %d printable characters without spaces", name, maxIDLen)
	}
	return v, nil
}

func validID(s string) bool {
	if len(s) > maxIDLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// safeName returns a field name fit to quote in an error message.
func safeName(s string) string {
	if validID(s) && len(s) <= 40 {
		return s
	}
	return "(unprintable)"
}
