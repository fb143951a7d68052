package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// SendRequest is a fax to send. Give the document either as Document (with
// Filename; sent as a multipart upload) or as ContentURL (the gateway
// fetches it).
type SendRequest struct {
	To string
	// Recipients are the numbers of a send to several (SendBatch); To is
	// then left empty.
	Recipients  []string
	From        string
	CallbackURL string
	Provider    string
	HeaderText  string
	// MaxAttempts is how many times in all a busy or unanswered number is
	// dialed (1 to 10); 0 takes the gateway's FAXGATE_REDIAL_ATTEMPTS.
	MaxAttempts int

	// Cover fields add a cover page in front of the document: any of them
	// given (CoverConfidential true counts) asks for one.
	CoverTo, CoverFrom, CoverSubject, CoverMessage string
	// CoverConfidential adds the notice that the fax may contain
	// confidential health information.
	CoverConfidential bool

	Document   io.Reader
	Filename   string
	ContentURL string
	// Files are more documents sent after Document (or alone), which the
	// gateway joins in order into one fax.
	Files []File

	// IdempotencyKey makes a repeat of the send return the same fax. When
	// empty the client makes one per call, so that its own retries of a
	// 429 or 503 can never send the fax twice.
	IdempotencyKey string
}

// File is one document of a send with several.
type File struct {
	Name string
	Body io.Reader
}

// SendFax sends a fax: the gateway answers once it has stored it, and the
// carrier dials the number shortly after.
func (c *Client) SendFax(ctx context.Context, s SendRequest) (*Fax, error) {
	if len(s.Recipients) > 0 {
		return nil, errors.New("client: a send with Recipients is SendBatch's")
	}
	r, err := sendRequest(s, []string{s.To}, false)
	if err != nil {
		return nil, err
	}
	var f Fax
	if err := c.do(ctx, r, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// SendBatch sends one fax to each of s.Recipients under one batch id: all
// are made or, when one number is refused, none. A multipart send (with a
// Document) to a single number gets a single fax, returned as a Batch
// without an id.
func (c *Client) SendBatch(ctx context.Context, s SendRequest) (*Batch, error) {
	if s.To != "" || len(s.Recipients) == 0 {
		return nil, errors.New("client: SendBatch takes Recipients, not To")
	}
	r, err := sendRequest(s, s.Recipients, true)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := c.do(ctx, r, &raw); err != nil {
		return nil, err
	}
	var b Batch
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("client: decode the answer: %w", err)
	}
	if b.Data == nil {
		var f Fax
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("client: decode the answer: %w", err)
		}
		b.Data = []Fax{f}
	}
	return &b, nil
}

// sendRequest builds POST /v1/faxes to numbers; batch sends JSON's to as
// an array, and multipart's to once per number.
func sendRequest(s SendRequest, numbers []string, batch bool) (*request, error) {
	r := &request{method: http.MethodPost, path: "/v1/faxes", header: http.Header{}}
	key := s.IdempotencyKey
	if key == "" {
		var b [16]byte
		rand.Read(b[:])
		key = "fgc_" + hex.EncodeToString(b[:])
	}
	r.header.Set("Idempotency-Key", key)
	fields := [][2]string{{"from", s.From}, {"callback_url", s.CallbackURL},
		{"provider", s.Provider}, {"header_text", s.HeaderText}, {"cover_to", s.CoverTo}, {"cover_from", s.CoverFrom},
		{"cover_subject", s.CoverSubject}, {"cover_message", s.CoverMessage}}
	if s.MaxAttempts != 0 {
		fields = append(fields, [2]string{"max_attempts", strconv.Itoa(s.MaxAttempts)})
	}
	files := s.Files
	if s.Document != nil {
		files = append([]File{{Name: s.Filename, Body: s.Document}}, files...)
	}
	switch {
	case len(files) > 0 && s.ContentURL != "":
		return nil, errors.New("client: give Document or ContentURL, not both")
	case len(files) > 0:
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, n := range numbers {
			mw.WriteField("to", n)
		}
		for _, f := range fields {
			if f[1] != "" {
				mw.WriteField(f[0], f[1])
			}
		}
		if s.CoverConfidential {
			mw.WriteField("cover_confidential", "true")
		}
		for _, f := range files {
			name := f.Name
			if name == "" {
				name = "document"
			}
			fw, err := mw.CreateFormFile("file", filepath.Base(name))
			if err != nil {
				return nil, fmt.Errorf("client: %w", err)
			}
			if _, err := io.Copy(fw, f.Body); err != nil {
				return nil, fmt.Errorf("client: read the document: %w", err)
			}
		}
		if err := mw.Close(); err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		r.body, r.contentType = buf.Bytes(), mw.FormDataContentType()
	default:
		body := map[string]any{"to": numbers[0]}
		if batch {
			body["to"] = numbers
		}
		for _, f := range fields {
			if f[1] != "" {
				body[f[0]] = f[1]
			}
		}
		if s.CoverConfidential {
			body["cover_confidential"] = true
		}
		if s.MaxAttempts != 0 {
			body["max_attempts"] = s.MaxAttempts
		}
		if s.ContentURL != "" {
			body["content_url"] = s.ContentURL
		}
		jr, err := jsonRequest(http.MethodPost, r.path, body)
		if err != nil {
			return nil, err
		}
		r.body, r.contentType = jr.body, jr.contentType
	}
	return r, nil
}

// SendFaxFile sends the file at path (PDF, TIFF or text) to s.To.
func (c *Client) SendFaxFile(ctx context.Context, path string, s SendRequest) (*Fax, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	defer f.Close()
	s.Document, s.Filename = f, filepath.Base(path)
	return c.SendFax(ctx, s)
}

// GetFax returns one fax.
func (c *Client) GetFax(ctx context.Context, id string) (*Fax, error) {
	var f Fax
	if err := c.get(ctx, "/v1/faxes/"+escape(id), nil, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// WaitFax polls the fax every interval (default 1s) until it is final or
// ctx ends.
func (c *Client) WaitFax(ctx context.Context, id string, interval time.Duration) (*Fax, error) {
	if interval <= 0 {
		interval = time.Second
	}
	for {
		f, err := c.GetFax(ctx, id)
		if err != nil || f.Final() {
			return f, err
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return f, ctx.Err()
		case <-t.C:
		}
	}
}

// FaxListParams filters a fax list; zero fields do not filter.
type FaxListParams struct {
	Direction string // outbound or inbound
	Status    string
	To        string // the whole number faxed to, E.164 such as +15551234567
	From      string // the whole number faxed from, E.164
	// DocumentStatus: received faxes whose document is pending, available
	// or unavailable.
	DocumentStatus string
	Provider       string // the carrier, such as simulator
	BatchID        string // the faxes of one SendBatch
	// CreatedAfter and CreatedBefore bound the creation time to
	// [CreatedAfter, CreatedBefore); zero leaves a side open.
	CreatedAfter  time.Time
	CreatedBefore time.Time
	Limit         int // page size, 1 to 500 (default 50)
	Cursor        string
}

func (p FaxListParams) query() url.Values {
	q := url.Values{}
	set(q, "direction", p.Direction)
	set(q, "status", p.Status)
	set(q, "to", p.To)
	set(q, "from", p.From)
	set(q, "document_status", p.DocumentStatus)
	set(q, "provider", p.Provider)
	set(q, "batch_id", p.BatchID)
	if !p.CreatedAfter.IsZero() {
		q.Set("created_after", p.CreatedAfter.UTC().Format(time.RFC3339Nano))
	}
	if !p.CreatedBefore.IsZero() {
		q.Set("created_before", p.CreatedBefore.UTC().Format(time.RFC3339Nano))
	}
	setInt(q, "limit", p.Limit)
	set(q, "cursor", p.Cursor)
	return q
}

// ListFaxes returns one page of faxes, newest first.
func (c *Client) ListFaxes(ctx context.Context, p FaxListParams) (*Page[Fax], error) {
	var out Page[Fax]
	if err := c.get(ctx, "/v1/faxes", p.query(), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Faxes iterates over every fax matching p, fetching page after page; it
// stops at the first error, which it yields.
func (c *Client) Faxes(ctx context.Context, p FaxListParams) iter.Seq2[Fax, error] {
	return all(p.Cursor, func(cursor string) (*Page[Fax], error) {
		p.Cursor = cursor
		return c.ListFaxes(ctx, p)
	})
}

// FaxEvents returns a fax's timeline, oldest first.
func (c *Client) FaxEvents(ctx context.Context, id string) ([]Event, error) {
	var out Page[Event]
	if err := c.get(ctx, "/v1/faxes/"+escape(id)+"/events", nil, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// FaxDocument opens the fax's PDF (the received fax, or the sent
// original); the caller closes it.
func (c *Client) FaxDocument(ctx context.Context, id string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, &request{method: http.MethodGet, path: "/v1/faxes/" + escape(id) + "/document"})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// CancelFax cancels a fax that is not final yet; a final one is a 409.
func (c *Client) CancelFax(ctx context.Context, id string) (*Fax, error) {
	var f Fax
	if err := c.postJSON(ctx, "/v1/faxes/"+escape(id)+"/cancel", nil, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// DeleteFax removes a final fax's record and document; the gateway keeps
// only an audit entry without the numbers. It needs the fax:delete scope.
func (c *Client) DeleteFax(ctx context.Context, id string) error {
	return c.do(ctx, &request{method: http.MethodDelete, path: "/v1/faxes/" + escape(id)}, nil)
}

// DeleteFaxDocument deletes a final fax's document now, as retention
// would; the fax stays and its download then answers 410. It needs the
// fax:delete scope.
func (c *Client) DeleteFaxDocument(ctx context.Context, id string) error {
	return c.do(ctx, &request{method: http.MethodDelete, path: "/v1/faxes/" + escape(id) + "/document"}, nil)
}

// SimulateInbound has the simulator carrier receive a fax of pages pages
// from one number to another (only where the simulator is in use).
func (c *Client) SimulateInbound(ctx context.Context, from, to string, pages int) (*Fax, error) {
	var f Fax
	body := map[string]any{"from": from, "to": to}
	if pages > 0 {
		body["pages"] = pages
	}
	if err := c.postJSON(ctx, "/v1/simulator/inbound", body, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// all yields every item of the pages fetch returns, starting at cursor.
func all[T any](cursor string, fetch func(cursor string) (*Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			p, err := fetch(cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, v := range p.Data {
				if !yield(v, nil) {
					return
				}
			}
			if p.NextCursor == "" || p.NextCursor == cursor {
				return
			}
			cursor = p.NextCursor
		}
	}
}

func set(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func setInt(q url.Values, k string, v int) {
	if v != 0 {
		q.Set(k, strconv.Itoa(v))
	}
}

func setTime(q url.Values, k string, t time.Time) {
	if !t.IsZero() {
		q.Set(k, t.UTC().Format(time.RFC3339Nano))
	}
}
