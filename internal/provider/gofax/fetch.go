package gofax

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/faxgate/faxgate/internal/fax"
)

// FileRequest builds the API request for a received fax's document, which a
// fax-received webhook only names (Document.FetchID): GET
// /v1.0/ReceiveFax/{faxId}/Document with the first GOFAX_TOKEN. The caller
// runs it with its own outbound-safe client and limits and reads the answer
// through DecodeFile. The URL holds the token, so no error or log may carry
// it; FilePath gives what may be shown instead.
func (p *Provider) FileRequest(ctx context.Context, faxID string) (*http.Request, error) {
	if faxID == "" || !validID(faxID) {
		return nil, fax.Errorf(fax.ECodeInvalid, "GoFax fax id must be 1 to %d printable characters without spaces", maxIDLen)
	}
	path := FilePath(faxID)
	q := url.Values{"token": {p.tokens[0]}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("gofax: fetch received fax: build request: %w", redact(err, p.baseURL+path))
	}
	req.Header.Set("Accept", "application/json, text/plain")
	return req, nil
}

// FilePath is the path of a received fax's document, without the token.
func FilePath(faxID string) string {
	return "/v1.0/ReceiveFax/" + url.PathEscape(faxID) + "/Document"
}

// DecodeFile returns the document inside r, GoFax's answer to FileRequest:
// base64, as a JSON string or as bare text, padded or not, wrapped or not.
// It decodes as it reads, so a large answer is never held twice and a
// caller's size limit stops the download early. An answer that is not
// base64 (an HTML page, a JSON object) gives a *fax.Error unsupported_type;
// r's own errors are returned as they are.
func DecodeFile(r io.Reader) io.Reader {
	return &fileReader{dec: base64.NewDecoder(base64.StdEncoding, &fileText{r: bufio.NewReaderSize(r, 32<<10)})}
}

// fileReader turns the base64 decoder's complaints into a *fax.Error.
type fileReader struct{ dec io.Reader }

func (f *fileReader) Read(p []byte) (int, error) {
	n, err := f.dec.Read(p)
	var ce base64.CorruptInputError
	if errors.As(err, &ce) {
		err = notBase64()
	}
	return n, err
}

func notBase64() error {
	return fax.Errorf(fax.ECodeUnsupportedType, "GoFax's answer is not a base64 document")
}

// fileText passes on the base64 text of GoFax's answer: it unquotes a JSON
// string as it goes, drops white space, and pads an unpadded end, so that a
// standard base64 decoder can read it.
type fileText struct {
	r       *bufio.Reader
	started bool // past leading white space
	quoted  bool // a JSON string
	closed  bool // its closing quote was read
	symbols int  // base64 characters passed on
	padded  bool
	tail    []byte // padding still to pass on at the end
	err     error
}

func (f *fileText) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(f.tail) > 0 {
			p[n] = f.tail[0]
			f.tail = f.tail[1:]
			n++
			continue
		}
		if f.err != nil {
			break
		}
		c, ok := f.next()
		if ok {
			p[n] = c
			n++
		}
	}
	if n > 0 {
		return n, nil
	}
	return 0, f.err
}

// next reads until it has a base64 character to pass on (ok), or sets f.err.
func (f *fileText) next() (c byte, ok bool) {
	c, err := f.r.ReadByte()
	if err != nil {
		f.end(err)
		return 0, false
	}
	switch {
	case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		return 0, false
	case !f.started:
		f.started = true
		switch c {
		case '"':
			f.quoted = true
			return 0, false
		case '{', '[':
			f.err = fax.Errorf(fax.ECodeUnsupportedType, "GoFax answered JSON that is not a base64 string")
			return 0, false
		}
	case f.closed:
		f.err = notBase64() // something after the JSON string
		return 0, false
	case f.quoted && c == '"':
		f.closed = true
		return 0, false
	case f.quoted && c == '\\':
		if c, ok = f.escape(); !ok {
			return 0, false
		}
		if c == '\r' || c == '\n' || c == '\t' || c == ' ' {
			return 0, false
		}
	}
	return f.symbol(c)
}

// escape reads the rest of a JSON escape sequence: \/ and the escapes of
// white space and ASCII characters can stand in base64 text.
func (f *fileText) escape() (byte, bool) {
	c, err := f.r.ReadByte()
	if err != nil {
		f.end(err)
		return 0, false
	}
	switch c {
	case '/':
		return '/', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	case 'u':
		var v int
		for range 4 {
			h, err := f.r.ReadByte()
			if err != nil {
				f.end(err)
				return 0, false
			}
			d := hexValue(h)
			if d < 0 {
				f.err = notBase64()
				return 0, false
			}
			v = v<<4 | d
		}
		if v < 0x80 {
			return byte(v), true
		}
	}
	f.err = notBase64()
	return 0, false
}

func hexValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// symbol passes c on if it is base64.
func (f *fileText) symbol(c byte) (byte, bool) {
	switch {
	case c == '=':
		f.padded = true
	case f.padded:
		f.err = notBase64() // data after padding
		return 0, false
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
	default:
		f.err = notBase64()
		return 0, false
	}
	f.symbols++
	return c, true
}

// end records the end of the answer: an unpadded last group gets its
// padding, an unterminated JSON string is an error.
func (f *fileText) end(err error) {
	if err != io.EOF {
		f.err = err
		return
	}
	f.err = io.EOF
	if f.quoted && !f.closed {
		f.err = notBase64()
		return
	}
	if r := f.symbols % 4; r != 0 && !f.padded {
		f.tail = []byte("===")[:4-r]
	}
}

// redact replaces the URL in a transport error, which would otherwise carry
// the API token in its query, with the URL's path alone.
func redact(err error, safeURL string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: safeURL, Err: ue.Err}
	}
	return err
}

// DecodeFile reads GoFax's answer to FileRequest; see the function
// DecodeFile. It lets the fetcher treat every carrier alike.
func (p *Provider) DecodeFile(r io.Reader) io.Reader { return DecodeFile(r) }

// Credentials names GoFax in fetch errors, with the setting its API token
// comes from.
func (p *Provider) Credentials() (name, settings string) { return "GoFax", "GOFAX_TOKEN" }
