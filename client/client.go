// Package client is the Go client of faxgate's API v1 and the helper that
// verifies faxgate's webhooks on the receiving side.
//
// It imports only the standard library, so that an application using it
// pulls in none of the gateway's dependencies; its types mirror the wire
// JSON of internal/wire, and a test keeps the two in step.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Options tunes a Client; the zero value (or nil) means the defaults.
type Options struct {
	// HTTPClient sends the requests (default: a client with a 2-minute
	// timeout). Its Transport may serve requests in-process, as the
	// gateway's own MCP server does.
	HTTPClient *http.Client
	// MaxRetries is how many times a request answered 429 or 503 is sent
	// again (default 3; negative: never).
	MaxRetries int
	// MaxRetryWait bounds one wait between retries, whatever Retry-After
	// asks (default 30s).
	MaxRetryWait time.Duration
	// UserAgent is sent with every request (default "faxgate-go-client").
	UserAgent string
}

// Client calls one gateway with one API key. It is safe for concurrent use.
type Client struct {
	base      string
	key       string
	hc        *http.Client
	retries   int
	maxWait   time.Duration
	userAgent string
}

// New returns a client of the gateway at baseURL (e.g.
// "http://localhost:8080") that authenticates with apiKey.
func New(baseURL, apiKey string, opts *Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q is not an http(s) URL", baseURL)
	}
	if apiKey == "" {
		return nil, errors.New("client: an API key is required")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	c := &Client{base: strings.TrimRight(baseURL, "/"), key: apiKey, hc: o.HTTPClient,
		retries: o.MaxRetries, maxWait: o.MaxRetryWait, userAgent: o.UserAgent}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 2 * time.Minute}
	}
	switch {
	case o.MaxRetries == 0:
		c.retries = 3
	case o.MaxRetries < 0:
		c.retries = 0
	}
	if c.maxWait <= 0 {
		c.maxWait = 30 * time.Second
	}
	if c.userAgent == "" {
		c.userAgent = "faxgate-go-client"
	}
	return c, nil
}

// BaseURL is the gateway's URL as the client uses it.
func (c *Client) BaseURL() string { return c.base }

// Error is the API's error answer: {"error":{"code","message","request_id"}}
// with the HTTP status. Match it with errors.As.
type Error struct {
	Status    int
	Code      string
	Message   string
	RequestID string
	// RetryAfter is the wait the gateway asked for, when it did.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("faxgate: %d %s: %s", e.Status, e.Code, e.Message)
	if e.RequestID != "" {
		msg += " (request " + e.RequestID + ")"
	}
	return msg
}

// IsNotFound reports whether err is the API's 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// request is one call: a body held as bytes so that a retry can send it
// again.
type request struct {
	method      string
	path        string
	query       url.Values
	contentType string
	body        []byte
	header      http.Header
}

// jsonRequest encodes v as a JSON body.
func jsonRequest(method, path string, v any) (*request, error) {
	r := &request{method: method, path: path}
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("client: encode request: %w", err)
		}
		r.body, r.contentType = b, "application/json"
	}
	return r, nil
}

// send performs r, retrying 429 and 503 as the answer's Retry-After asks
// (bounded by MaxRetryWait), and returns the response of a 2xx; any other
// answer is an *Error. The caller closes the body.
func (c *Client) send(ctx context.Context, r *request) (*http.Response, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	for attempt := 0; ; attempt++ {
		var body io.Reader
		if r.body != nil {
			body = bytes.NewReader(r.body)
		}
		req, err := http.NewRequestWithContext(ctx, r.method, u, body)
		if err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		for k, v := range r.header {
			req.Header[k] = v
		}
		req.Header.Set("Authorization", "Bearer "+c.key)
		req.Header.Set("User-Agent", c.userAgent)
		req.Header.Set("Accept", "application/json")
		if r.contentType != "" {
			req.Header.Set("Content-Type", r.contentType)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
		}
		if resp.StatusCode < 300 {
			return resp, nil
		}
		apiErr := readError(resp)
		if (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) || attempt >= c.retries {
			return nil, apiErr
		}
		wait := apiErr.RetryAfter
		if wait <= 0 {
			wait = time.Duration(attempt+1) * time.Second
		}
		wait = min(wait, c.maxWait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// readError turns a non-2xx answer into an *Error and closes its body.
func readError(resp *http.Response) *Error {
	defer resp.Body.Close()
	e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id"),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var body struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body) == nil && body.Error.Code != "" {
		e.Code, e.Message = body.Error.Code, body.Error.Message
		if body.Error.RequestID != "" {
			e.RequestID = body.Error.RequestID
		}
	} else {
		e.Code, e.Message = "http_"+strconv.Itoa(resp.StatusCode), "the gateway answered "+resp.Status
	}
	return e
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date; 0 when absent
// or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > 86400 {
			n = 86400
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// maxJSON bounds a JSON answer the client reads.
const maxJSON = 32 << 20

// do performs r and decodes a JSON answer into out (nil: discard it).
func (c *Client) do(ctx context.Context, r *request, out any) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxJSON))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJSON)).Decode(out); err != nil {
		return fmt.Errorf("client: %s %s: decode the answer: %w", r.method, r.path, err)
	}
	return nil
}

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, &request{method: http.MethodGet, path: path, query: q}, out)
}

func (c *Client) postJSON(ctx context.Context, path string, in, out any) error {
	r, err := jsonRequest(http.MethodPost, path, in)
	if err != nil {
		return err
	}
	return c.do(ctx, r, out)
}

// escape makes an id safe as one path segment.
func escape(id string) string { return url.PathEscape(id) }
