package sinch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/faxgate/faxgate/internal/fax"
)

// Limits on what faxgate reads of Sinch's answers.
const (
	maxAnswer     = 1 << 20 // a send or cancel answer
	maxListAnswer = 8 << 20 // a list answer (Find)
)

// maxRetryAfter caps a Retry-After: a carrier's typo must not park a fax
// for a year.
const maxRetryAfter = 24 * time.Hour

// maxUserMessage bounds the carrier's words quoted in a Failure.Message.
const maxUserMessage = 200

// noRedirects returns a copy of c, or a default client with DefaultTimeout
// when c is nil, that never follows redirects: following one would turn a
// POST into a GET without the document, or hand the credentials to another
// host. The caller's client is left as it is.
func noRedirects(c *http.Client) *http.Client {
	cp := http.Client{Timeout: DefaultTimeout}
	if c != nil {
		cp = *c
	}
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// answer is what came back for one API call.
type answer struct {
	status  int
	header  http.Header
	body    []byte
	readErr error // the body could not be read whole
}

// constError is an error that can be a constant, so that sentinels are not
// package variables.
type constError string

func (e constError) Error() string { return string(e) }

// errTooLarge marks an answer cut off at its size limit.
const errTooLarge = constError("the answer is larger than faxgate reads")

// call performs req and reads the answer's body up to limit bytes. An error
// means no status line arrived; whether the carrier may nevertheless hold
// the whole request is then in arrived (see trackedBody).
func call(client *http.Client, req *http.Request, arrived *atomic.Bool, limit int64) (*answer, error) {
	trace := &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				arrived.Store(true)
			}
		},
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	a := &answer{status: resp.StatusCode, header: resp.Header}
	a.body, a.readErr = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if a.readErr == nil && int64(len(a.body)) > limit {
		a.readErr = errTooLarge
	}
	return a, nil
}

// newUpload builds a request whose body is tracked: arrived is set once the
// transport has taken the body's last byte or reported the request written.
// It is never cleared, also not when the transport retries on a fresh
// connection, so it errs towards "may have arrived".
func newUpload(ctx context.Context, method, url string, data []byte, arrived *atomic.Bool) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	req.Body = &trackedBody{data: data, arrived: arrived}
	req.ContentLength = int64(len(data))
	req.GetBody = func() (io.ReadCloser, error) {
		return &trackedBody{data: data, arrived: arrived}, nil
	}
	return req, nil
}

// trackedBody is a request body that records handing out its last byte. A
// transport writes a byte only after reading it, so while arrived is unset
// the carrier cannot hold the whole request. This closes the gap left by
// httptrace's WroteRequest, which HTTP/2 may report only after RoundTrip has
// returned on a timeout. Reads after Close fail, so nothing is handed out
// once the transport has given up on the request.
type trackedBody struct {
	mu      sync.Mutex
	data    []byte
	off     int
	closed  bool
	arrived *atomic.Bool
}

const errBodyClosed = constError("request body read after close")

func (b *trackedBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, errBodyClosed
	}
	if b.off >= len(b.data) {
		b.arrived.Store(true)
		return 0, io.EOF
	}
	n := copy(p, b.data[b.off:])
	b.off += n
	if b.off == len(b.data) {
		b.arrived.Store(true)
	}
	return n, nil
}

func (b *trackedBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// lostRequest classifies a call (op, such as "send") that got no answer. A
// request that cannot have reached Sinch whole (refused connection, DNS or
// TLS failure, a cancel before the last byte) is retryable; one that may
// have arrived is ambiguous, so that the dispatcher asks Sinch instead of
// sending twice.
func lostRequest(op string, err error, arrived bool) *fax.SendError {
	if arrived {
		return &fax.SendError{Outcome: fax.SendAmbiguous, Err: fmt.Errorf("sinch: %s: no answer after the request was sent: %w", op, err)}
	}
	return &fax.SendError{Outcome: fax.SendRetryable, Err: fmt.Errorf("sinch: %s: %w", op, err)}
}

// ambiguous is a send whose outcome cannot be known from Sinch's answer.
func ambiguous(format string, args ...any) *fax.SendError {
	return &fax.SendError{Outcome: fax.SendAmbiguous, Err: fmt.Errorf("sinch: send: "+format, args...)}
}

// refused is a permanent refusal of the fax: by Sinch with an HTTP
// status, or by faxgate before sending anything when status is 0.
func refused(code, message, carrierType string, status int, carrierMsg string) *fax.SendError {
	fl := &fax.Failure{
		Code:           code,
		Message:        message,
		CarrierType:    truncate(carrierType, maxCodeLen),
		CarrierMessage: truncate(carrierMsg, maxMessageLen),
	}
	err := fmt.Errorf("sinch: send: not sent")
	if status != 0 {
		fl.CarrierCode = strconv.Itoa(status)
		err = fmt.Errorf("sinch: send: refused with HTTP %d", status)
	}
	return &fax.SendError{Outcome: fax.SendPermanent, Failure: fl, Err: err}
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date,
// capped at maxRetryAfter; absent or unreadable is 0.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// userMessage joins faxgate's words and the carrier's into one sentence
// short enough for a fax's error.
func userMessage(prefix, carrier string) string {
	if carrier == "" {
		return prefix + "."
	}
	carrier = strings.TrimRight(truncate(carrier, maxUserMessage), ".")
	return prefix + ": " + carrier + "."
}

// clean makes a carrier's text safe to store and show: valid UTF-8, one
// line, no secret of this provider in it.
func (p *Provider) clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	for _, k := range p.secrets {
		s = strings.ReplaceAll(s, string(k), "[redacted]")
	}
	for _, k := range []string{p.keySecret, p.callbackPass} {
		if k != "" {
			s = strings.ReplaceAll(s, k, "[redacted]")
		}
	}
	return s
}

// joinAnd lists names as "A", "A and B" or "A, B and C".
func joinAnd(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
