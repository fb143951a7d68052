package console

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
)

// recorder holds the API's answer to an in-process call.
type recorder struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}

// call serves one API request as p's key, carrying the browser's address
// and request id so that the API's audit rows and logs name them.
func (c *Console) call(r *http.Request, p *principal, method, path string, body io.Reader, ctype string) *recorder {
	req, err := http.NewRequestWithContext(r.Context(), method, path, body)
	rec := &recorder{h: http.Header{}}
	if err != nil {
		rec.code = http.StatusBadRequest
		return rec
	}
	req.RemoteAddr = r.RemoteAddr
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	c.opts.API.ServeAs(p.key, rec, req)
	return rec
}

// callJSON sends in (when not nil) as JSON and decodes the answer into out;
// an API error comes back as a fax.Error with the API's code and message.
func (c *Console) callJSON(r *http.Request, p *principal, method, path string, in, out any) error {
	var body io.Reader
	ctype := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	rec := c.call(r, p, method, path, body, ctype)
	return decodeAnswer(rec, out)
}

func decodeAnswer(rec *recorder, out any) error {
	if rec.code >= 400 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(rec.body.Bytes(), &e) != nil || e.Error.Code == "" {
			return fax.Errorf(fax.ECodeInternal, "the API answered %d", rec.code)
		}
		return &apiError{status: rec.code, code: e.Error.Code, msg: e.Error.Message}
	}
	if out == nil || rec.code == http.StatusNoContent {
		return nil
	}
	return json.NewDecoder(&rec.body).Decode(out)
}

// apiError is an error the API answered, shown with its status and message.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func statusOf(err error) int {
	if e, ok := err.(*apiError); ok {
		return e.status
	}
	switch fax.ErrorCode(err) {
	case fax.ECodeUnauthorized:
		return http.StatusUnauthorized
	case fax.ECodeForbidden:
		return http.StatusForbidden
	case fax.ECodeNotFound:
		return http.StatusNotFound
	case fax.ECodeInvalid:
		return http.StatusBadRequest
	case fax.ECodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case fax.ECodeRateLimited:
		return http.StatusTooManyRequests
	case fax.ECodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func messageOf(err error) string {
	if e, ok := err.(*apiError); ok {
		return e.msg
	}
	if fax.ErrorCode(err) == fax.ECodeInternal {
		return "something went wrong; the gateway's log has the details"
	}
	return fax.ErrorMessage(err)
}

// query builds a query string from pairs, leaving out empty values.
func query(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			continue
		}
		if b.Len() == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(pairs[i] + "=" + urlEscape(pairs[i+1]))
	}
	return b.String()
}
