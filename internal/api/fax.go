package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

// sendRequest is POST /v1/faxes in either encoding.
type sendRequest struct {
	To            string `json:"to"`
	From          string `json:"from"`
	CallbackURL   string `json:"callback_url"`
	Provider      string `json:"provider"`
	HeaderText    string `json:"header_text"`
	ContentBase64 string `json:"content_base64"`
	Filename      string `json:"filename"`
	ContentURL    string `json:"content_url"`

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
		To: req.To, From: req.From, CallbackURL: req.CallbackURL, Provider: req.Provider,
		HeaderText: req.HeaderText, IdempotencyKey: r.Header.Get("Idempotency-Key"), Cover: req.cover(),
	}
	if send.MaxAttempts, err = req.maxAttempts(); err != nil {
		return err
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
	if send.MaxAttempts == 0 {
		send.MaxAttempts = s.opts.RedialAttempts
	}

	now := s.now().UTC()
	id := s.ids.New(fax.PrefixFax, now)
	key := fax.OutboundDocumentKey(id, doc.MIME, now)
	info, err := s.opts.Blobs.Put(ctx, key, doc.Bytes)
	if err != nil {
		return fmt.Errorf("api: store document: %w", err)
	}
	ownerID := ""
	if owner := principal(ctx); owner != nil && !owner.Admin {
		ownerID = owner.ID
	}
	f := fax.NewOutbound(id, &send, fax.StoredDocument{Key: key, MIME: doc.MIME, Size: info.Size, SHA256: info.SHA256, Pages: doc.Pages}, ownerID)
	if send.CallbackURL != "" && s.opts.CallbackSecret != nil {
		if opts.CallbackSecret, err = s.opts.CallbackSecret(ctx); err != nil {
			return err
		}
	}
	created, existed, err := s.opts.Store.CreateFax(ctx, f, opts)
	if err != nil || existed {
		// The document stored for this request belongs to no fax: a repeat
		// returns the earlier fax with its own document.
		if derr := s.opts.Blobs.Delete(context.WithoutCancel(ctx), key); derr != nil {
			s.log.WarnContext(ctx, "remove an unused document", "err", derr)
		}
	}
	if err != nil {
		return err
	}
	if existed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	if !existed {
		s.audit(r, "fax.send", "fax", created.ID)
	}
	s.log.InfoContext(r.Context(), "fax accepted", "fax_id", created.ID, "provider", send.Provider, "to", fax.MaskNumber(created.To), "pages", created.Pages, "replayed", existed)
	writeJSON(w, http.StatusAccepted, wire.FromFax(created))
	return nil
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
		"to": &req.To, "from": &req.From, "callback_url": &req.CallbackURL, "provider": &req.Provider,
		"header_text": &req.HeaderText, "content_url": &req.ContentURL, "max_attempts": &req.maxAttemptsText,
	}
	req.coverMultipart(fields)
	names := newFieldSet("field", sendFields)
	names.repeatable = []string{"file"}
	var total int64
	malformed := fax.Errorf(fax.ECodeInvalid, "malformed multipart body")
	for parts := 0; ; parts++ {
		if parts > 32 {
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

func (s *Server) handleFaxList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	fl := fax.FaxFilter{Direction: fax.Direction(q.Get("direction")), Status: fax.Status(q.Get("status")), Cursor: q.Get("cursor")}
	if fl.Direction != "" && !fl.Direction.Valid() {
		return fax.Errorf(fax.ECodeInvalid, "direction must be outbound or inbound")
	}
	if fl.Status != "" && !fl.Status.Valid() {
		return fax.Errorf(fax.ECodeInvalid, "status must be one of queued, sending, sent, failed, canceled, received, partial")
	}
	if fl.DocumentStatus = fax.DocumentStatus(q.Get("document_status")); fl.DocumentStatus != "" && !fl.DocumentStatus.Valid() {
		return fax.Errorf(fax.ECodeInvalid, "document_status must be one of pending, available, unavailable")
	}
	if fl.Cursor != "" && (!strings.HasPrefix(fl.Cursor, fax.PrefixFax) || len(fl.Cursor) > 64) {
		return fax.Errorf(fax.ECodeInvalid, "cursor is not one this API returned")
	}
	var err error
	if fl.To, err = parseNumberParam(q, "to"); err != nil {
		return err
	}
	if fl.From, err = parseNumberParam(q, "from"); err != nil {
		return err
	}
	if fl.Limit, err = parseLimit(q.Get("limit")); err != nil {
		return err
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

// parseNumberParam reads the E.164 number filter named name, parsed as a
// send parses its numbers so "+1 (555) 123-4567" finds "+15551234567".
// Absent means any number.
func parseNumberParam(q url.Values, name string) (fax.Number, error) {
	if !q.Has(name) {
		return "", nil
	}
	n, err := fax.ParseNumber(q.Get(name))
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
