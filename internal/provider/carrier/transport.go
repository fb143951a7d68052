package carrier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// MaxRetryAfter caps a Retry-After: a carrier's typo must not park a fax
// for a year.
const MaxRetryAfter = 24 * time.Hour

// NoRedirects returns a copy of c, or a default client with timeout when c
// is nil, that never follows redirects: following one would turn a POST
// into a GET without the document, or hand the credentials to another host.
// The caller's client is left as it is.
func NoRedirects(c *http.Client, timeout time.Duration) *http.Client {
	cp := http.Client{Timeout: timeout}
	if c != nil {
		cp = *c
	}
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// Answer is what came back for one API call.
type Answer struct {
	Status  int
	Header  http.Header
	Body    []byte
	ReadErr error // the body could not be read whole
}

// constError is an error that can be a constant, so that sentinels are not
// package variables.
type constError string

func (e constError) Error() string { return string(e) }

// ErrTooLarge marks an answer cut off at its size limit.
const ErrTooLarge = constError("the answer is larger than faxgate reads")

// Call performs req and reads the answer's body up to limit bytes. An error
// means no status line arrived; whether the carrier may nevertheless hold
// the whole request is then in arrived (see NewUpload).
func Call(client *http.Client, req *http.Request, arrived *atomic.Bool, limit int64) (*Answer, error) {
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
	a := &Answer{Status: resp.StatusCode, Header: resp.Header}
	a.Body, a.ReadErr = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if a.ReadErr == nil && int64(len(a.Body)) > limit {
		a.ReadErr = ErrTooLarge
	}
	return a, nil
}

// NewUpload builds a request whose body is tracked: arrived is set once the
// transport has taken the body's last byte or reported the request written.
// It is never cleared, also not when the transport retries on a fresh
// connection, so it errs towards "may have arrived".
func NewUpload(ctx context.Context, method, url string, data []byte, arrived *atomic.Bool) (*http.Request, error) {
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

// LostRequest classifies a call that got no answer; prefix ("phaxio: send")
// starts the error. A request that cannot have reached the carrier whole
// (refused connection, DNS or TLS failure, a cancel before the last byte)
// is retryable; one that may have arrived is ambiguous, so that the
// dispatcher asks the carrier instead of sending twice.
func LostRequest(prefix string, err error, arrived bool) *fax.SendError {
	if arrived {
		return &fax.SendError{Outcome: fax.SendAmbiguous, Err: fmt.Errorf("%s: no answer after the request was sent: %w", prefix, err)}
	}
	return &fax.SendError{Outcome: fax.SendRetryable, Down: unreachable(err), Err: fmt.Errorf("%s: %w", prefix, err)}
}

// unreachable reports whether err says the carrier could not be reached at
// all: its name did not resolve or the connection was not made, so that
// nothing was sent.
func unreachable(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// Ambiguous is a send whose outcome cannot be known from the carrier's
// answer; prefix ("phaxio: send") starts the error.
func Ambiguous(prefix, format string, args ...any) *fax.SendError {
	return &fax.SendError{Outcome: fax.SendAmbiguous, Err: fmt.Errorf(prefix+": "+format, args...)}
}

// Refused is a permanent refusal of the fax: by the carrier with an HTTP
// status, or by faxgate before sending anything when status is 0. prefix
// ("phaxio: send") starts the error.
func Refused(prefix, code, message, carrierType string, status int, carrierMsg string) *fax.SendError {
	fl := &fax.Failure{
		Code:           code,
		Message:        message,
		CarrierType:    Truncate(carrierType, MaxCodeLen),
		CarrierMessage: Truncate(carrierMsg, MaxMessageLen),
	}
	err := fmt.Errorf("%s: not sent", prefix)
	if status != 0 {
		fl.CarrierCode = strconv.Itoa(status)
		err = fmt.Errorf("%s: refused with HTTP %d", prefix, status)
	}
	return &fax.SendError{Outcome: fax.SendPermanent, Failure: fl, Err: err}
}

// RetryAfter reads a Retry-After header's value, in seconds or as an HTTP
// date, capped at MaxRetryAfter; absent or unreadable is 0.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}
