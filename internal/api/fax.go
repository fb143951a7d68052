package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

// sendRequest is POST /v1/faxes in either encoding.
type sendRequest struct {
	To            recipients `json:"to"`
	From          string     `json:"from"`
	CallbackURL   string     `json:"callback_url"`
	Provider      string     `json:"provider"`
	HeaderText    string     `json:"header_text"`
	ContentBase64 string     `json:"content_base64"`
	Filename      string     `json:"filename"`
	ContentURL    string     `json:"content_url"`

	CoverTo           string `json:"cover_to"`
	CoverFrom         string `json:"cover_from"`
	CoverSubject      string `json:"cover_subject"`
	CoverMessage      string `json:"cover_message"`
	CoverConfidential bool   `json:"cover_confidential"`
	// coverConfidential is a multipart cover_confidential as sent.
	coverConfidential string
	// MaxAttempts is max_attempts: a number in JSON, a text field in a
	// multipart body (maxAttemptsText); nil when not given.
	MaxAttempts     *int `json:"max_attempts"`
	maxAttemptsText string

	// files are the documents in the order given: several file parts, or
	// the one of content_base64 or content_url.
	files [][]byte
}

const maxField = 2048

// recipients is a send's to: one number (a JSON string, one multipart
// field) or several (a JSON array, the field repeated), which make a
// batch. A JSON array of one number is a batch too: its caller asked for
// the batch's answer and gets it.
type recipients struct {
	numbers []string
	batch   bool
}

func (r *recipients) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		r.batch = true
		if err := json.Unmarshal(b, &r.numbers); err != nil {
			return fax.Errorf(fax.ECodeInvalid, "to must be a number or an array of numbers, as strings")
		}
		return nil
	}
	var n *string
	if err := json.Unmarshal(b, &n); err != nil {
		return fax.Errorf(fax.ECodeInvalid, "to must be a number or an array of numbers, as strings")
	}
	if n != nil {
		r.numbers = []string{*n}
	}
	return nil
}

// add is one more multipart to field; a second makes a batch.
func (r *recipients) add(n string) {
	r.numbers = append(r.numbers, n)
	r.batch = len(r.numbers) > 1
}

// single is the number of a send to one number.
func (r *recipients) single() string {
	if len(r.numbers) == 0 {
		return ""
	}
	return r.numbers[0]
}

func (s *Server) handleFaxCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	leaveKey, err := s.sends.enterKey(principal(ctx))
	if err != nil {
		// Closing the connection spares reading a body that is refused
		// anyway; the server would otherwise read it before answering.
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", "1")
		return err
	}
	defer leaveKey()
	req, err := s.readSend(w, r)
	if err != nil {
		return err
	}
	// The gateway-wide slot is taken only now that the body is in: a client
	// sending its bodies slowly holds its own key's share, not everyone's.
	leave, err := s.sends.enter()
	if err != nil {
		w.Header().Set("Retry-After", "1")
		return err
	}
	defer leave()
	send := fax.SendRequest{
		To: req.To.single(), From: req.From, CallbackURL: req.CallbackURL, Provider: req.Provider,
		HeaderText: req.HeaderText, IdempotencyKey: r.Header.Get("Idempotency-Key"), Cover: req.cover(),
	}
	if send.MaxAttempts, err = req.maxAttempts(); err != nil {
		return err
	}
	// batch holds a batch's numbers, checked whole before anything is
	// stored; nil for a send to one number.
	var batch []string
	if req.To.batch {
		if batch, err = fax.ParseRecipients(req.To.numbers, s.opts.MaxRecipients); err != nil {
			return err
		}
		send.To = batch[0]
	}
	if err := send.Validate(); err != nil {
		return err
	}
	if send.CallbackURL != "" {
		if err := s.checkEndpointURL(ctx, "callback_url", send.CallbackURL); err != nil {
			return err
		}
	}
	if send.Provider == "" {
		send.Provider = s.opts.DefaultProvider
	}
	if s.opts.ProviderProblem != nil {
		if p := s.opts.ProviderProblem(send.Provider); p != "" {
			return fax.Errorf(fax.ECodeUnprocessable, "provider %s cannot send: %s", send.Provider, p)
		}
	}
	if len(req.files) == 0 && req.ContentURL != "" {
		if err := s.fetchContent(r, req); err != nil {
			return err
		}
	}
	if len(req.files) == 0 || len(req.files) == 1 && len(req.files[0]) == 0 {
		return fax.Errorf(fax.ECodeInvalid, "no document: send a file part named file, content_base64 with filename, or content_url")
	}
	doc, err := s.opts.PrepareDocument(ctx, req.files)
	if err != nil {
		return err
	}
	if send.Cover.Set() {
		if doc, err = s.addCover(ctx, doc, send.Cover); err != nil {
			return err
		}
	}
	if err := send.ValidateIdempotencyKey(); err != nil {
		return err
	}
	opts := fax.CreateOptions{RequestHash: send.Hash(req.files)}
	if batch != nil {
		opts.RequestHash = send.HashBatch(batch, req.files)
	}
	if send.MaxAttempts == 0 {
		send.MaxAttempts = s.opts.RedialAttempts
	}
	if send.CallbackURL != "" && s.opts.CallbackSecret != nil {
		if opts.CallbackSecret, err = s.opts.CallbackSecret(ctx); err != nil {
			return err
		}
	}
	faxes, keys, err := s.newOutbound(ctx, &send, batch, doc)
	if err == nil {
		var existed bool
		if faxes, existed, err = s.opts.Store.CreateFaxes(ctx, faxes, opts); existed {
			w.Header().Set("Idempotent-Replayed", "true")
			err = errReplayed
		}
	}
	if err != nil {
		// The documents stored for this request belong to no fax: a repeat
		// returns the earlier faxes with their own documents.
		for _, key := range keys {
			if derr := s.opts.Blobs.Delete(context.WithoutCancel(ctx), key); derr != nil {
				s.log.WarnContext(ctx, "remove an unused document", "err", derr)
			}
		}
		if err != errReplayed {
			return err
		}
	}
	for _, f := range faxes {
		if err != errReplayed {
			s.audit(r, "fax.send", "fax", f.ID)
		}
		s.log.InfoContext(ctx, "fax accepted", "fax_id", f.ID, "batch_id", f.BatchID, "provider", f.Provider, "to", fax.MaskNumber(f.To), "pages", f.Pages, "replayed", err == errReplayed)
	}
	if batch == nil {
		writeJSON(w, http.StatusAccepted, wire.FromFax(faxes[0]))
		return nil
	}
	out := wire.Batch{BatchID: faxes[0].BatchID, Data: make([]wire.Fax, 0, len(faxes))}
	for _, f := range faxes {
		out.Data = append(out.Data, wire.FromFax(f))
	}
	writeJSON(w, http.StatusAccepted, out)
	return nil
}

// errReplayed marks a send answered with the faxes of an earlier request
// under the same Idempotency-Key.
var errReplayed = errors.New("api: replayed")

// newOutbound stores the document and builds the fax of a send to one
// number, or one fax per number of a batch under a new batch_id, each
// with its own copy of the document so that deleting or retiring one
// fax's document never touches another's. It returns the keys stored,
// also on error, for the caller to remove when no fax is made.
func (s *Server) newOutbound(ctx context.Context, send *fax.SendRequest, batch []string, doc Document) ([]*fax.Fax, []string, error) {
	now := s.now().UTC()
	numbers, batchID := []string{send.To}, ""
	if batch != nil {
		numbers, batchID = batch, s.ids.New(fax.PrefixBatch, now)
	}
	ownerID := ""
	if owner := principal(ctx); owner != nil && !owner.Admin {
		ownerID = owner.ID
	}
	faxes := make([]*fax.Fax, 0, len(numbers))
	keys := make([]string, 0, len(numbers))
	for i, n := range numbers {
		id := s.ids.New(fax.PrefixFax, now)
		key := fax.OutboundDocumentKey(id, doc.MIME, now)
		info, err := s.opts.Blobs.Put(ctx, key, doc.Bytes)
		if err != nil {
			return nil, keys, fmt.Errorf("api: store document: %w", err)
		}
		keys = append(keys, key)
		one := *send
		one.To = n
		if i > 0 {
			// The first fax carries the key; a repeat finds the batch by it.
			one.IdempotencyKey = ""
		}
		f := fax.NewOutbound(id, &one, fax.StoredDocument{Key: key, MIME: doc.MIME, Size: info.Size, SHA256: info.SHA256, Pages: doc.Pages}, ownerID)
		f.BatchID = batchID
		faxes = append(faxes, f)
	}
	return faxes, keys, nil
}

// readSend reads a send's body in either encoding within the body deadline
// (Options.SendBodyTimeout). A content_url is not fetched yet.
func (s *Server) readSend(w http.ResponseWriter, r *http.Request) (*sendRequest, error) {
	if s.opts.SendBodyTimeout > 0 {
		// The server clears the deadline itself once the body has been read
		// to its end, so it never cuts the work that follows. A server
		// without deadlines (a test recorder) refuses it; nothing to do.
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.opts.SendBodyTimeout))
	}
	req := &sendRequest{}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		if err := s.readMultipartSend(r, params["boundary"], req); err != nil {
			return nil, err
		}
	case "application/json", "":
		if err := decodeJSON(r, s.opts.MaxDocument*4/3+64<<10, req); err != nil {
			return nil, err
		}
		if err := s.jsonContent(req); err != nil {
			return nil, err
		}
	default:
		return nil, fax.Errorf(fax.ECodeUnsupportedType, "send multipart/form-data or application/json, not %s", mt)
	}
	return req, nil
}

// sendFields are the multipart fields of a send.
var sendFields = append([]string{"to", "file", "from", "callback_url", "provider", "header_text", "content_url", "max_attempts"}, coverFields...)

// readMultipartSend reads a multipart send, refusing a document over the
// limit with 413 before reading it all.
func (s *Server) readMultipartSend(r *http.Request, boundary string, req *sendRequest) error {
	if boundary == "" {
		return fax.Errorf(fax.ECodeInvalid, "multipart body without a boundary")
	}
	body := http.MaxBytesReader(nil, r.Body, s.opts.MaxDocument+1<<20)
	mr := multipart.NewReader(body, boundary)
	fields := map[string]*string{
		"from": &req.From, "callback_url": &req.CallbackURL, "provider": &req.Provider,
		"header_text": &req.HeaderText, "content_url": &req.ContentURL, "max_attempts": &req.maxAttemptsText,
	}
	req.coverMultipart(fields)
	names := newFieldSet("field", sendFields)
	names.repeatable = []string{"file", "to"}
	var total int64
	malformed := fax.Errorf(fax.ECodeInvalid, "malformed multipart body")
	for parts := 0; ; parts++ {
		if parts > 32+s.opts.MaxRecipients {
			return fax.Errorf(fax.ECodeInvalid, "too many multipart parts")
		}
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s.bodyError(err, malformed)
		}
		name := p.FormName()
		if err := names.add(name); err != nil {
			return err
		}
		if name == "file" {
			b, err := io.ReadAll(io.LimitReader(p, s.opts.MaxDocument+1))
			if err != nil {
				return s.bodyError(err, malformed)
			}
			if total += int64(len(b)); total > s.opts.MaxDocument {
				return fax.Errorf(fax.ECodeTooLarge, "document is larger than %d bytes", s.opts.MaxDocument)
			}
			req.files = append(req.files, b)
			continue
		}
		if name == "to" {
			b, err := io.ReadAll(io.LimitReader(p, maxField+1))
			if err != nil {
				return s.bodyError(err, malformed)
			}
			if len(b) > maxField {
				return fax.Errorf(fax.ECodeInvalid, "field to is longer than %d bytes", maxField)
			}
			req.To.add(strings.TrimSpace(string(b)))
			continue
		}
		limit := maxField
		if name == "cover_message" {
			limit = maxCoverMessageField
		}
		b, err := io.ReadAll(io.LimitReader(p, int64(limit)+1))
		if err != nil {
			return s.bodyError(err, malformed)
		}
		if len(b) > limit {
			return fax.Errorf(fax.ECodeInvalid, "field %s is longer than %d bytes", name, limit)
		}
		*fields[name] = strings.TrimSpace(string(b))
	}
	if len(req.files) > 0 && req.ContentURL != "" {
		return fax.Errorf(fax.ECodeInvalid, "send a file part or content_url, not both")
	}
	if err := req.parseCoverConfidential(); err != nil {
		return err
	}
	// Whatever follows the closing boundary is read now, within the
	// deadline, so that the body is wholly in before the send takes a
	// gateway-wide slot; a small epilogue is allowed, as MIME allows it.
	n, err := io.CopyN(io.Discard, body, maxEpilogue+1)
	if err != nil && err != io.EOF {
		return s.bodyError(err, malformed)
	}
	if n > maxEpilogue {
		return fax.Errorf(fax.ECodeInvalid, "more than %d bytes after the multipart body's closing boundary", maxEpilogue)
	}
	return nil
}

// maxAttempts is the send's max_attempts, 0 when not given; any value
// given must be a whole number from 1 to fax.MaxAttemptsLimit.
func (req *sendRequest) maxAttempts() (int, error) {
	n := 0
	switch {
	case req.MaxAttempts != nil:
		n = *req.MaxAttempts
	case req.maxAttemptsText != "":
		v, err := strconv.Atoi(req.maxAttemptsText)
		if err != nil {
			return 0, fax.Errorf(fax.ECodeInvalid, "max_attempts: want a whole number from 1 to %d", fax.MaxAttemptsLimit)
		}
		n = v
	default:
		return 0, nil
	}
	if n < 1 || n > fax.MaxAttemptsLimit {
		return 0, fax.Errorf(fax.ECodeInvalid, "max_attempts: want a whole number from 1 to %d, got %d", fax.MaxAttemptsLimit, n)
	}
	return n, nil
}

// maxEpilogue is how much data may follow a multipart send's closing
// boundary.
const maxEpilogue = 1 << 10

// bodyError names why reading a send's body failed when the reason is the
// size limit or the body deadline, and returns otherwise for anything else.
func (s *Server) bodyError(err, otherwise error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return fax.Errorf(fax.ECodeTooLarge, "document is larger than %d bytes", s.opts.MaxDocument)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fax.Errorf(errTimeout, "the request body did not arrive within %s", s.opts.SendBodyTimeout)
	}
	return otherwise
}

func (s *Server) jsonContent(req *sendRequest) error {
	switch {
	case req.ContentBase64 != "" && req.ContentURL != "":
		return fax.Errorf(fax.ECodeInvalid, "send content_base64 or content_url, not both")
	case req.ContentBase64 != "":
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(req.ContentBase64))
		if err != nil {
			return fax.Errorf(fax.ECodeInvalid, "content_base64 is not valid base64")
		}
		if int64(len(b)) > s.opts.MaxDocument {
			return fax.Errorf(fax.ECodeTooLarge, "document is larger than %d bytes", s.opts.MaxDocument)
		}
		req.files = [][]byte{b}
	}
	return nil
}

func (s *Server) fetchContent(r *http.Request, req *sendRequest) error {
	if s.opts.FetchDocument == nil {
		return fax.Errorf(fax.ECodeUnprocessable, "content_url is not supported by this gateway")
	}
	b, err := s.opts.FetchDocument(r.Context(), req.ContentURL, s.opts.MaxDocument)
	if err != nil {
		var fe *fax.Error
		if errors.As(err, &fe) {
			return fax.Errorf(fe.Code, "content_url: %s", fe.Message)
		}
		return fax.Errorf(fax.ECodeUnprocessable, "content_url could not be fetched")
	}
	req.files = [][]byte{b}
	return nil
}

func (s *Server) handleFaxGet(w http.ResponseWriter, r *http.Request) error {
	f, err := s.findFax(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.FromFax(f))
	return nil
}

// findFax loads the fax named in the path.
func (s *Server) findFax(r *http.Request) (*fax.Fax, error) {
	id := r.PathValue("id")
	if !strings.HasPrefix(id, fax.PrefixFax) || len(id) > 64 {
		return nil, fax.Errorf(fax.ECodeNotFound, "fax %q not found", truncate(id, 64))
	}
	f, err := s.opts.Store.FindFaxByID(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// faxListParams are the list's filters, one line each: the query
// parameter and how its value sets the filter. The OpenAPI document lists
// the same names (operations).
var faxListParams = []struct {
	name  string
	parse func(v string, fl *fax.FaxFilter) error
}{
	{"direction", func(v string, fl *fax.FaxFilter) error {
		fl.Direction = fax.Direction(v)
		return check(v == "" || fl.Direction.Valid(), "direction must be outbound or inbound")
	}},
	{"status", func(v string, fl *fax.FaxFilter) error {
		fl.Status = fax.Status(v)
		return check(v == "" || fl.Status.Valid(), "status must be one of queued, sending, sent, failed, canceled, received, partial")
	}},
	{"document_status", func(v string, fl *fax.FaxFilter) error {
		fl.DocumentStatus = fax.DocumentStatus(v)
		return check(v == "" || fl.DocumentStatus.Valid(), "document_status must be one of pending, available, unavailable")
	}},
	{"to", func(v string, fl *fax.FaxFilter) (err error) { fl.To, err = parseNumber("to", v); return err }},
	{"from", func(v string, fl *fax.FaxFilter) (err error) { fl.From, err = parseNumber("from", v); return err }},
	{"provider", func(v string, fl *fax.FaxFilter) error {
		fl.Provider = v
		return check(v != "" && len(v) <= 32, "provider must name a carrier, such as simulator")
	}},
	{"batch_id", func(v string, fl *fax.FaxFilter) error {
		fl.BatchID = v
		return check(strings.HasPrefix(v, fax.PrefixBatch) && len(v) <= 64, "batch_id is not one this API returned")
	}},
	{"created_after", func(v string, fl *fax.FaxFilter) (err error) {
		fl.CreatedAfter, err = parseTime("created_after", v)
		return err
	}},
	{"created_before", func(v string, fl *fax.FaxFilter) (err error) {
		fl.CreatedBefore, err = parseTime("created_before", v)
		return err
	}},
	{"cursor", func(v string, fl *fax.FaxFilter) error {
		fl.Cursor = v
		return check(v == "" || strings.HasPrefix(v, fax.PrefixFax) && len(v) <= 64, "cursor is not one this API returned")
	}},
	{"limit", func(v string, fl *fax.FaxFilter) (err error) { fl.Limit, err = parseLimit(v); return err }},
}

// check is nil when ok, else an invalid error saying msg.
func check(ok bool, msg string) error {
	if ok {
		return nil
	}
	return fax.Errorf(fax.ECodeInvalid, "%s", msg)
}

// parseTime reads an RFC 3339 time parameter.
func parseTime(name, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fax.Errorf(fax.ECodeInvalid, "%s must be an RFC 3339 time, such as 2026-11-01T00:00:00Z", name)
	}
	return t.UTC(), nil
}

func (s *Server) handleFaxList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	fl := fax.FaxFilter{Limit: fax.DefaultLimit}
	for _, p := range faxListParams {
		if q.Has(p.name) {
			if err := p.parse(q.Get(p.name), &fl); err != nil {
				return err
			}
		}
	}
	faxes, next, err := s.opts.Store.FindFaxes(r.Context(), fl)
	if err != nil {
		return err
	}
	out := wire.List[wire.Fax]{Data: make([]wire.Fax, 0, len(faxes))}
	for _, f := range faxes {
		out.Data = append(out.Data, wire.FromFax(f))
	}
	if next != "" {
		out.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// parseNumber reads the E.164 number filter named name, parsed as a send
// parses its numbers so "+1 (555) 123-4567" finds "+15551234567".
func parseNumber(name, v string) (fax.Number, error) {
	n, err := fax.ParseNumber(v)
	if err != nil {
		return "", fax.Errorf(fax.ECodeInvalid, "%s: %s", name, fax.ErrorMessage(err))
	}
	return n, nil
}

func parseLimit(v string) (int, error) {
	if v == "" {
		return fax.DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > fax.MaxLimit {
		return 0, fax.Errorf(fax.ECodeInvalid, "limit must be a number from 1 to %d", fax.MaxLimit)
	}
	return n, nil
}

func (s *Server) handleFaxDocument(w http.ResponseWriter, r *http.Request) error {
	f, err := s.findFax(r)
	if err != nil {
		return err
	}
	if f.DocumentPurged {
		return fax.Errorf(fax.ECodeGone, "the document of fax %s was deleted", f.ID)
	}
	if f.DocumentStatus == fax.DocumentPending {
		return fax.Errorf(fax.ECodeDocumentPending, "the document of fax %s is still being fetched from %s (document_status pending); it is ready when fax.received is sent", f.ID, f.Provider)
	}
	if f.DocumentStatus == fax.DocumentUnavailable && f.DocumentError != "" {
		return fax.Errorf(fax.ECodeNotFound, "fax %s has no document (document_status unavailable): %s", f.ID, f.DocumentError)
	}
	if f.DocumentKey == "" {
		if f.Direction == fax.Inbound && f.Failure != nil {
			// A reception that failed, or whose document could not be
			// fetched: there is no document and there never will be.
			return fax.Errorf(fax.ECodeNotFound, "fax %s has no document: %s", f.ID, f.Failure.Message)
		}
		return fax.Errorf(fax.ECodeNotFound, "fax %s has no document yet", f.ID)
	}
	rc, size, err := s.opts.Blobs.Open(r.Context(), f.DocumentKey)
	if err != nil {
		return err
	}
	defer rc.Close()
	s.audit(r, "document.download", "fax", f.ID)
	w.Header().Set("Content-Disposition", `attachment; filename="`+f.ID+`.pdf"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if f.DocumentType != "" && f.DocumentType != "application/pdf" && s.opts.RenderPDF != nil {
		b, err := io.ReadAll(io.LimitReader(rc, s.opts.MaxDocument*2))
		if err != nil {
			return fmt.Errorf("api: read document: %w", err)
		}
		pdf, err := s.opts.RenderPDF(b, f.DocumentType)
		if err != nil {
			return fmt.Errorf("api: render document: %w", err)
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Length", strconv.Itoa(len(pdf)))
		_, err = io.Copy(w, bytes.NewReader(pdf))
		return nilOnClientGone(err)
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	_, err = io.Copy(w, rc)
	return nilOnClientGone(err)
}

// nilOnClientGone drops a write error: once the body started, the status is
// sent and the client has gone; nothing more can be told.
func nilOnClientGone(error) error { return nil }

func (s *Server) handleFaxEvents(w http.ResponseWriter, r *http.Request) error {
	f, err := s.findFax(r)
	if err != nil {
		return err
	}
	evs, err := s.opts.Store.FindEventsByFax(r.Context(), f.ID)
	if err != nil {
		return err
	}
	out := wire.List[wire.Event]{Data: make([]wire.Event, 0, len(evs))}
	for _, e := range evs {
		out.Data = append(out.Data, wire.FromEvent(e))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleFaxCancel(w http.ResponseWriter, r *http.Request) error {
	f, err := s.findFax(r)
	if err != nil {
		return err
	}
	if f.Status.Final() {
		return fax.Errorf(fax.ECodeConflict, "fax %s is already %s", f.ID, f.Status)
	}
	if f.ProviderFaxID != "" && s.opts.CancelAtCarrier != nil {
		if err := s.opts.CancelAtCarrier(r.Context(), f); err != nil {
			return err
		}
	}
	f, err = s.opts.Store.CancelFax(r.Context(), f.ID)
	if err != nil {
		return err
	}
	s.audit(r, "fax.cancel", "fax", f.ID)
	s.log.InfoContext(r.Context(), "fax canceled", "fax_id", f.ID)
	writeJSON(w, http.StatusOK, wire.FromFax(f))
	return nil
}
