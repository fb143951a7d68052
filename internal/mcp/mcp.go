// Package mcp is faxgate's Model Context Protocol server: tools with which
// an assistant sends and reads faxes. Every tool calls the API through the
// Go client (package client) as the caller's API key, so the API's
// authentication, scope checks, validation and audit apply to assistants
// exactly as to any other client; nothing here reads a store.
//
// It imports the MCP Go SDK, package client and internal/fax (for masking
// numbers), never the API's or the stores' packages.
package mcp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/faxgate/faxgate/client"
	"github.com/faxgate/faxgate/internal/fax"
)

// Options configures the server.
type Options struct {
	// ClientFunc returns the API client for one tool call, and whether its
	// key holds fax:read (else numbers in tool output are masked). header is
	// the HTTP request's under /mcp and nil over stdio.
	ClientFunc func(ctx context.Context, header http.Header) (c *client.Client, canRead bool, err error)
	// Simulator adds receive_test_fax: the simulator carrier is in use.
	Simulator bool
	// Version is faxgate's version, shown to MCP clients.
	Version string
}

// maxDocument bounds the document get_fax_document embeds.
const maxDocument = 64 << 20

// server holds the options the tool handlers use.
type server struct{ opts Options }

// New returns the MCP server with faxgate's tools.
func New(opts Options) *sdk.Server {
	s := &server{opts: opts}
	srv := sdk.NewServer(&sdk.Implementation{Name: "faxgate", Title: "faxgate fax gateway", Version: opts.Version}, &sdk.ServerOptions{
		Instructions: "faxgate sends and receives faxes over real telephone lines. send_fax dials the number given: " +
			"only send where the user asked to. Numbers are E.164, e.g. +15551234567.",
	})
	sdk.AddTool(srv, &sdk.Tool{Name: "send_fax", Description: "Send a fax. This dials the destination number on a real phone line " +
		"through the gateway's carrier (unless the gateway runs its simulator) and may cost money; a fax cannot be unsent once " +
		"transmitted. Give the document as text, content_base64 (PDF, TIFF, text, an image such as PNG or JPEG, or an office document such as DOCX; with filename) or content_url; the API validates " +
		"it as for any send. Give recipients instead of to for several numbers: each gets its own fax under one batch_id, and one invalid number refuses them all. " +
		"Returns the queued fax (or the batch); follow it with get_fax."}, s.sendFax)
	sdk.AddTool(srv, &sdk.Tool{Name: "get_fax", Description: "Get one fax by id: status, pages, error. Reads only; touches no phone line.",
		Annotations: readOnly()}, s.getFax)
	sdk.AddTool(srv, &sdk.Tool{Name: "list_faxes", Description: "List faxes, newest first, one page at a time (next_cursor for the next). " +
		"Reads only; touches no phone line.", Annotations: readOnly()}, s.listFaxes)
	sdk.AddTool(srv, &sdk.Tool{Name: "fax_timeline", Description: "A fax's timeline: queued, sending, pages sent, sent or failed, with times. " +
		"Reads only; touches no phone line.", Annotations: readOnly()}, s.faxTimeline)
	sdk.AddTool(srv, &sdk.Tool{Name: "get_fax_document", Description: "Fetch a fax's document (the received fax, or the sent original) " +
		"as an embedded PDF resource. Reads only; touches no phone line.", Annotations: readOnly()}, s.faxDocument)
	sdk.AddTool(srv, &sdk.Tool{Name: "cancel_fax", Description: "Cancel a fax that is not final yet. If the carrier is already dialing " +
		"or transmitting, the call is hung up and the recipient may have received part of it; a final fax cannot be canceled."}, s.cancelFax)
	sdk.AddTool(srv, &sdk.Tool{Name: "list_deliveries", Description: "List webhook deliveries (events sent to the user's endpoints) with " +
		"their attempts. Reads only; touches no phone line.", Annotations: readOnly()}, s.listDeliveries)
	sdk.AddTool(srv, &sdk.Tool{Name: "retry_delivery", Description: "Deliver a webhook event to its endpoint again now. This calls the user's " +
		"own HTTP endpoint, not a phone line."}, s.retryDelivery)
	if opts.Simulator {
		sdk.AddTool(srv, &sdk.Tool{Name: "receive_test_fax", Description: "Have the simulator carrier receive a test fax from one number to another. " +
			"The simulator has no phone line: nothing is dialed; the received fax and its webhooks are as real ones."}, s.receiveTestFax)
	}
	return srv
}

func readOnly() *sdk.ToolAnnotations { return &sdk.ToolAnnotations{ReadOnlyHint: true} }

// call returns the client for a tool call.
func (s *server) call(ctx context.Context, req *sdk.CallToolRequest) (*client.Client, bool, error) {
	var h http.Header
	if req != nil && req.Extra != nil {
		h = req.Extra.Header
	}
	return s.opts.ClientFunc(ctx, h)
}

// toolError makes an API error a tool error the model can read: the code
// and message, which say what to fix.
func toolError(err error) (*sdk.CallToolResult, any, error) {
	var e *client.Error
	msg := err.Error()
	if errors.As(err, &e) {
		msg = fmt.Sprintf("%d %s: %s (request %s)", e.Status, e.Code, e.Message, e.RequestID)
	}
	return &sdk.CallToolResult{IsError: true, Content: []sdk.Content{&sdk.TextContent{Text: msg}}}, nil, nil
}

// result answers v as JSON text.
func result(v any) (*sdk.CallToolResult, any, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return toolError(err)
	}
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: string(b)}}}, nil, nil
}

// maskFax hides all but the last four digits of a fax's numbers from a key
// that may not read faxes; station and caller ids are often numbers too.
func maskFax(f *client.Fax, canRead bool) *client.Fax {
	if f != nil && !canRead {
		f.To, f.From = mask(f.To), mask(f.From)
		f.StationID, f.CallerID = mask(f.StationID), mask(f.CallerID)
	}
	return f
}

func mask(n string) string {
	if n == "" {
		return ""
	}
	return fax.MaskNumber(n)
}

type sendInput struct {
	To            string   `json:"to,omitempty" jsonschema:"destination number in E.164, e.g. +15551234567"`
	Recipients    []string `json:"recipients,omitempty" jsonschema:"several destination numbers in E.164, instead of to: one fax each under one batch_id"`
	From          string   `json:"from,omitempty" jsonschema:"caller number in E.164"`
	HeaderText    string   `json:"header_text,omitempty" jsonschema:"header line on each page, at most 50 characters"`
	CallbackURL   string   `json:"callback_url,omitempty" jsonschema:"URL that receives this fax's events"`
	Text          string   `json:"text,omitempty" jsonschema:"the document as plain text"`
	ContentBase64 string   `json:"content_base64,omitempty" jsonschema:"the document (PDF, TIFF, text, PNG, JPEG, GIF, BMP, WebP, or DOCX, DOC, ODT, RTF, XLSX, ODS, PPTX, HTML) in standard base64"`
	Filename      string   `json:"filename,omitempty" jsonschema:"the document's file name, with content_base64"`
	ContentURL    string   `json:"content_url,omitempty" jsonschema:"an https URL the gateway fetches the document from"`
	CoverTo       string   `json:"cover_to,omitempty" jsonschema:"cover page: who the fax is for; any cover field adds a cover page"`
	CoverFrom     string   `json:"cover_from,omitempty" jsonschema:"cover page: who sends it"`
	CoverSubject  string   `json:"cover_subject,omitempty" jsonschema:"cover page: subject"`
	CoverMessage  string   `json:"cover_message,omitempty" jsonschema:"cover page: message, at most 4000 characters"`
	// CoverConfidential adds the confidential health information notice.
	CoverConfidential bool `json:"cover_confidential,omitempty" jsonschema:"cover page: add the notice that the fax may contain confidential health information"`
	MaxAttempts       int  `json:"max_attempts,omitempty" jsonschema:"dial attempts in all for a busy or unanswered number, 1 to 10 (default: the gateway's)"`
}

func (s *server) sendFax(ctx context.Context, req *sdk.CallToolRequest, in sendInput) (*sdk.CallToolResult, any, error) {
	c, canRead, err := s.call(ctx, req)
	if err != nil {
		return toolError(err)
	}
	if (in.To == "") == (len(in.Recipients) == 0) {
		return toolError(errors.New("give the number in to, or several in recipients"))
	}
	sr := client.SendRequest{To: in.To, From: in.From, HeaderText: in.HeaderText, CallbackURL: in.CallbackURL, ContentURL: in.ContentURL,
		CoverTo: in.CoverTo, CoverFrom: in.CoverFrom, CoverSubject: in.CoverSubject, CoverMessage: in.CoverMessage, CoverConfidential: in.CoverConfidential,
		MaxAttempts: in.MaxAttempts}
	n := 0
	if in.Text != "" {
		n++
		sr.Document, sr.Filename = strings.NewReader(in.Text), "fax.txt"
	}
	if in.ContentBase64 != "" {
		n++
		b, err := base64.StdEncoding.DecodeString(in.ContentBase64)
		if err != nil {
			return toolError(errors.New("content_base64 is not standard base64"))
		}
		sr.Document, sr.Filename = strings.NewReader(string(b)), in.Filename
	}
	if in.ContentURL != "" {
		n++
	}
	if n != 1 {
		return toolError(errors.New("give the document once: text, content_base64 or content_url"))
	}
	if len(in.Recipients) > 0 {
		sr.Recipients = in.Recipients
		b, err := c.SendBatch(ctx, sr)
		if err != nil {
			return toolError(err)
		}
		for i := range b.Data {
			maskFax(&b.Data[i], canRead)
		}
		return result(b)
	}
	f, err := c.SendFax(ctx, sr)
	if err != nil {
		return toolError(err)
	}
	return result(maskFax(f, canRead))
}

type idInput struct {
	ID string `json:"id" jsonschema:"the fax id, fax_…"`
}

func (s *server) getFax(ctx context.Context, req *sdk.CallToolRequest, in idInput) (*sdk.CallToolResult, any, error) {
	c, canRead, err := s.call(ctx, req)
	if err != nil {
		return toolError(err)
	}
	f, err := c.GetFax(ctx, in.ID)
	if err != nil {
		return toolError(err)
	}
	return result(maskFax(f, canRead))
}

type listInput struct {
	Direction string `json:"direction,omitempty" jsonschema:"outbound or inbound"`
	Status    string `json:"status,omitempty" jsonschema:"queued, sending, sent, failed, canceled, received or partial"`
	// DocumentStatus finds received faxes whose document is still being
	// fetched (pending) or could not be (unavailable).
	DocumentStatus string `json:"document_status,omitempty" jsonschema:"received faxes whose document is pending, available or unavailable"`
	To             string `json:"to,omitempty" jsonschema:"the whole number faxed to, E.164"`
	From           string `json:"from,omitempty" jsonschema:"the whole number faxed from, E.164"`
	Provider       string `json:"provider,omitempty" jsonschema:"the carrier, such as simulator"`
	BatchID        string `json:"batch_id,omitempty" jsonschema:"the batch_id of a send to several numbers"`
	// The times are strings in the tool's schema; listFaxes parses them.
	CreatedAfter  string `json:"created_after,omitempty" jsonschema:"created at or after this RFC 3339 time"`
	CreatedBefore string `json:"created_before,omitempty" jsonschema:"created before this RFC 3339 time"`
	Limit         int    `json:"limit,omitempty" jsonschema:"page size, 1 to 500 (default 50)"`
	Cursor        string `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page"`
}

func (s *server) listFaxes(ctx context.Context, req *sdk.CallToolRequest, in listInput) (*sdk.CallToolResult, any, error) {
	c, canRead, err := s.call(ctx, req)
	if err != nil {
		return toolError(err)
	}
	fl := client.FaxListParams{Direction: in.Direction, Status: in.Status, To: in.To, From: in.From, Provider: in.Provider,
		BatchID: in.BatchID, DocumentStatus: in.DocumentStatus, Limit: in.Limit, Cursor: in.Cursor}
	for _, t := range []struct {
		v   string
		dst *time.Time
	}{{in.CreatedAfter, &fl.CreatedAfter}, {in.CreatedBefore, &fl.CreatedBefore}} {
		if t.v == "" {
			continue
		}
		if *t.dst, err = time.Parse(time.RFC3339Nano, t.v); err != nil {
			return toolError(fmt.Errorf("%q is not an RFC 3339 time, such as 2026-11-01T00:00:00Z", t.v))
		}
	}
	p, err := c.ListFaxes(ctx, fl)
	if err != nil {
		return toolError(err)
	}
	for i := range p.Data {
		maskFax(&p.Data[i], canRead)
	}
	return result(p)
}

// timelineEntry is an event with its fax decoded, so that masking reaches
// the numbers inside.
type timelineEntry struct {
	ID        string               `json:"id"`
	Type      string               `json:"type"`
	CreatedAt string               `json:"created_at"`
	Data      *client.FaxEventData `json:"data,omitempty"`
}

func (s *server) faxTimeline(ctx context.Context, req *sdk.CallToolRequest, in idInput) (*sdk.CallToolResult, any, error) {
	c, canRead, err := s.call(ctx, req)
	if err != nil {
		return toolError(err)
	}
	evs, err := c.FaxEvents(ctx, in.ID)
	if err != nil {
		return toolError(err)
	}
	out := make([]timelineEntry, 0, len(evs))
	for _, e := range evs {
		te := timelineEntry{ID: e.ID, Type: e.Type, CreatedAt: e.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")}
		var d client.FaxEventData
		if json.Unmarshal(e.Data, &d) == nil {
			maskFax(&d.Fax, canRead)
			te.Data = &d
		}
		out = append(out, te)
	}
	return result(out)
}

func (s *server) faxDocument(ctx context.Context, req *sdk.CallToolRequest, in idInput) (*sdk.CallToolResult, any, error) {
	c, _, err := s.call(ctx, req)
	if err != nil {
		return toolError(err)
	}
	rc, err := c.FaxDocument(ctx, in.ID)
	if err != nil {
		return toolError(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxDocument+1))
	if err != nil {
		return toolError(err)
	}
	if len(b) > maxDocument {
		return toolError(fmt.Errorf("the document is larger than %d MiB; download it with GET /v1/faxes/%s/document", maxDocument>>20, in.ID))
	}
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.EmbeddedResource{Resource: &sdk.ResourceContents{
		URI: "faxgate://faxes/" + in.ID + "/document.pdf", MIMEType: "application/pdf", Blob: b}}}}, nil, nil
}

func (s *server) cancelFax(ctx context.Context, req *sdk.CallToolRequest, in idInput) (*sdk.CallToolResult, any, error) {
	c, canRead, err := s.call(ctx, req)
	if err != nil {
		return toolError(err)
	}
	f, err := c.CancelFax(ctx, in.ID)
	if err != nil {
		return toolError(err)
	}
	return result(maskFax(f, canRead))
}

type deliveriesInput struct {
	FaxID      string `json:"fax_id,omitempty" jsonschema:"only deliveries of this fax's events"`
	EndpointID string `json:"endpoint_id,omitempty" jsonschema:"only deliveries to this endpoint"`
	Status     string `json:"status,omitempty" jsonschema:"pending, succeeded or failed"`
	Limit      int    `json:"limit,omitempty" jsonschema:"page size, 1 to 500 (default 50)"`
	Cursor     string `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page"`
}

func (s *server) listDeliveries(ctx context.Context, req *sdk.CallToolRequest, in deliveriesInput) (*sdk.CallToolResult, any, error) {
	c, _, err := s.call(ctx, req)
	if err != nil {
		return toolError(err)
	}
	p, err := c.ListDeliveries(ctx, client.DeliveryListParams{FaxID: in.FaxID, EndpointID: in.EndpointID, Status: in.Status, Limit: in.Limit, Cursor: in.Cursor})
	if err != nil {
		return toolError(err)
	}
	return result(p)
}

type deliveryInput struct {
	ID string `json:"id" jsonschema:"the delivery id, dlv_…"`
}

func (s *server) retryDelivery(ctx context.Context, req *sdk.CallToolRequest, in deliveryInput) (*sdk.CallToolResult, any, error) {
	c, _, err := s.call(ctx, req)
	if err != nil {
		return toolError(err)
	}
	d, err := c.RetryDelivery(ctx, in.ID)
	if err != nil {
		return toolError(err)
	}
	return result(d)
}

type receiveInput struct {
	From  string `json:"from" jsonschema:"the sender's number in E.164"`
	To    string `json:"to" jsonschema:"the receiving number in E.164"`
	Pages int    `json:"pages,omitempty" jsonschema:"pages to receive (default 1)"`
}

func (s *server) receiveTestFax(ctx context.Context, req *sdk.CallToolRequest, in receiveInput) (*sdk.CallToolResult, any, error) {
	c, canRead, err := s.call(ctx, req)
	if err != nil {
		return toolError(err)
	}
	f, err := c.SimulateInbound(ctx, in.From, in.To, in.Pages)
	if err != nil {
		return toolError(err)
	}
	return result(maskFax(f, canRead))
}
