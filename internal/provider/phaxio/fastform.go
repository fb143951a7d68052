package phaxio

import (
	"bytes"
	"strings"

	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// The hot path of every callback reads the body's shape and form twice,
// once to verify the signature and once to parse the event. What Phaxio
// (and any client built on a common HTTP library) sends is the canonical
// shape, which the functions here read directly, with no copies and no
// MIME header maps. Anything else, however slightly off, goes to the
// carrier package's general parsers, and a differential fuzz test holds
// the fast path to giving exactly what those give.

// kindOf is carrier.KindOf, reading "multipart/form-data; boundary=TOKEN"
// itself.
func kindOf(contentType string, body []byte) (carrier.BodyKind, string, error) {
	const prefix = "multipart/form-data; boundary="
	if b, ok := strings.CutPrefix(contentType, prefix); ok && isToken(b) {
		return carrier.KindMultipart, b, nil
	}
	return carrier.KindOf(contentType, body)
}

// parseForm is carrier.ParseForm with no special rules.
func parseForm(kind carrier.BodyKind, boundary string, body []byte) (*carrier.Form, error) {
	if kind == carrier.KindMultipart {
		if f, ok := parseCanonicalMultipart(boundary, body); ok {
			f.Sort()
			return f, nil
		}
	}
	return carrier.ParseForm(kind, boundary, body, carrier.FormRules{})
}

// isToken reports whether s is a non-empty RFC 2045 token, which a media
// type parameter may be without quotes.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// parseCanonicalMultipart reads a multipart body of the canonical shape:
// no preamble, CRLF line ends, every part headed by
//
//	Content-Disposition: form-data; name="NAME"[; filename="FILE"]
//
// and at most a Content-Type line, values that never hold the delimiter,
// the final delimiter followed by nothing or CRLF, within carrier's limits.
// The values share body's memory. ok is false for any other body, which
// the general parser then reads (or refuses).
func parseCanonicalMultipart(boundary string, body []byte) (f *carrier.Form, ok bool) {
	delim := "--" + boundary
	rest, found := bytes.CutPrefix(body, []byte(delim+"\r\n"))
	if !found {
		return nil, false
	}
	next := []byte("\r\n" + delim)
	f = &carrier.Form{}
	for {
		if len(f.Parts) == carrier.MaxParts {
			return nil, false
		}
		var name string
		var file bool
		if name, file, rest, ok = partHeader(rest); !ok {
			return nil, false
		}
		// A value that starts like the delimiter is read by mime/multipart
		// in its own way; leave it to the general parser.
		if bytes.HasPrefix(rest, next[2:]) {
			return nil, false
		}
		end := bytes.Index(rest, next)
		if end < 0 {
			return nil, false
		}
		value := rest[:end:end]
		if !file && len(value) > carrier.MaxFieldBytes {
			return nil, false
		}
		f.Parts = append(f.Parts, carrier.Part{Name: name, Value: value, File: file})
		rest = rest[end+len(next):]
		switch {
		case bytes.HasPrefix(rest, []byte("\r\n")):
			rest = rest[2:]
		case bytes.HasPrefix(rest, []byte("--")):
			tail := rest[2:]
			return f, len(tail) == 0 || string(tail) == "\r\n"
		default:
			return nil, false
		}
	}
}

// partHeader reads the header of one canonical part and the blank line
// after it.
func partHeader(b []byte) (name string, file bool, rest []byte, ok bool) {
	const disposition = "Content-Disposition: form-data; name=\""
	b, ok = bytes.CutPrefix(b, []byte(disposition))
	if !ok {
		return "", false, nil, false
	}
	name, b, ok = quoted(b)
	if !ok || name == "" {
		return "", false, nil, false
	}
	if after, found := bytes.CutPrefix(b, []byte("; filename=\"")); found {
		var filename string
		if filename, b, ok = quoted(after); !ok {
			return "", false, nil, false
		}
		file = filename != ""
	}
	if b, ok = bytes.CutPrefix(b, []byte("\r\n")); !ok {
		return "", false, nil, false
	}
	if after, found := bytes.CutPrefix(b, []byte("Content-Type: ")); found {
		eol := bytes.Index(after, []byte("\r\n"))
		if eol <= 0 || !printable(after[:eol]) {
			return "", false, nil, false
		}
		b = after[eol+2:]
	}
	b, ok = bytes.CutPrefix(b, []byte("\r\n"))
	return name, file, b, ok
}

// quoted reads the rest of a quoted string whose opening quote is read:
// printable ASCII with no escapes.
func quoted(b []byte) (string, []byte, bool) {
	end := bytes.IndexByte(b, '"')
	if end < 0 || bytes.IndexByte(b[:end], '\\') >= 0 || !printable(b[:end]) {
		return "", nil, false
	}
	return string(b[:end]), b[end+1:], true
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < ' ' || c > '~' {
			return false
		}
	}
	return true
}
