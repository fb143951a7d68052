// Package api is faxgate's REST API v1: routes.go lists every route with its
// scope; each resource has its own file; errors map to statuses in one
// table; the OpenAPI document is generated from the route table so that it
// cannot drift.
//
// It imports internal/fax and internal/wire. Storage, documents, webhooks and
// carriers reach it through interfaces and functions declared here.
package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Store is what the API needs of the store.
type Store interface {
	CreateFax(ctx context.Context, f *fax.Fax, opts fax.CreateOptions) (*fax.Fax, bool, error)
	CreateFaxes(ctx context.Context, faxes []*fax.Fax, opts fax.CreateOptions) ([]*fax.Fax, bool, error)
	FindFaxByID(ctx context.Context, id string) (*fax.Fax, error)
	FindFaxes(ctx context.Context, fl fax.FaxFilter) ([]*fax.Fax, string, error)
	FindEventsByFax(ctx context.Context, faxID string) ([]*fax.Event, error)
	CancelFax(ctx context.Context, id string) (*fax.Fax, error)
	DeleteFax(ctx context.Context, id string) (*fax.Fax, error)
	MarkDocumentPurged(ctx context.Context, id string) error

	CreateEndpoint(ctx context.Context, e *fax.Endpoint) (*fax.Endpoint, error)
	FindEndpointByID(ctx context.Context, id string) (*fax.Endpoint, error)
	FindEndpoints(ctx context.Context, limit int, cursor string) ([]*fax.Endpoint, string, error)
	UpdateEndpoint(ctx context.Context, id string, fn func(*fax.Endpoint) error) (*fax.Endpoint, error)
	DeleteEndpoint(ctx context.Context, id string) error

	FindDeliveryByID(ctx context.Context, id string) (*fax.Delivery, error)
	FindDeliveries(ctx context.Context, fl fax.DeliveryFilter) ([]*fax.Delivery, string, error)
	RetryDelivery(ctx context.Context, id string) (*fax.Delivery, error)
	CreateTestEvent(ctx context.Context, endpointID string) (*fax.Delivery, error)
	RetryFailedDeliveries(ctx context.Context, endpointID string, since time.Time) (int, error)

	CreateAPIKey(ctx context.Context, k *fax.APIKey) (*fax.APIKey, error)
	FindAPIKeyByHash(ctx context.Context, hash string) (*fax.APIKey, error)
	FindAPIKeys(ctx context.Context) ([]*fax.APIKey, error)
	DeleteAPIKey(ctx context.Context, id string) error

	Ping(ctx context.Context) error
}

// Blobs stores documents.
type Blobs interface {
	Put(ctx context.Context, key string, b []byte) (fax.BlobInfo, error)
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
	Delete(ctx context.Context, key string) error
}

// Document is an accepted document ready to store: Bytes in MIME type
// MIME, with Pages pages.
type Document struct {
	Bytes []byte
	MIME  string
	Pages int
}

// Options configure a Server; nil functions disable what they provide.
type Options struct {
	Store  Store
	Blobs  Blobs
	Logger *slog.Logger
	Now    func() time.Time

	// AdminKeys are FAXGATE_ADMIN_KEY values: keys with every scope.
	AdminKeys []string
	// MaxDocument is the largest document accepted, in bytes.
	MaxDocument int64
	// MaxRecipients is how many numbers one send may fax
	// (FAXGATE_MAX_RECIPIENTS); 0 means 50.
	MaxRecipients int
	// DefaultProvider is FAXGATE_PROVIDER.
	DefaultProvider string
	// RedialAttempts is FAXGATE_REDIAL_ATTEMPTS: a send's max_attempts
	// when it gives none (0 counts as 1).
	RedialAttempts int
	// ProviderProblem says why a carrier cannot send ("" when it can),
	// naming the missing settings.
	ProviderProblem func(name string) string

	// PrepareDocument sniffs, checks and converts a send's documents,
	// joined in the order given, into the one document sent.
	PrepareDocument func(ctx context.Context, files [][]byte) (Document, error)
	// AddCover puts a cover page dated at in front of a prepared document
	// and counts its pages again; nil refuses sends with cover fields.
	AddCover func(ctx context.Context, doc Document, c fax.Cover, at time.Time) (Document, error)
	// RenderPDF turns a stored document into the PDF users download.
	RenderPDF func(b []byte, mime string) ([]byte, error)
	// FetchDocument downloads a content_url with outbound-request safety.
	FetchDocument func(ctx context.Context, url string, max int64) ([]byte, error)
	// CheckWebhookURL refuses endpoint URLs that are unsafe or malformed.
	CheckWebhookURL func(ctx context.Context, url string) error
	// NewSecret makes a webhook signing secret.
	NewSecret func() string
	// CallbackSecret returns the secret signing deliveries to faxes'
	// callback_url.
	CallbackSecret func(ctx context.Context) (string, error)
	// Formats lists the endpoint formats deliveries support.
	Formats []string
	// EmailEnabled allows mailto: endpoints (FAXGATE_SMTP_URL is set).
	EmailEnabled bool
	// SimulatorInbound receives a simulated fax; nil when the simulator is
	// not in use.
	SimulatorInbound func(ctx context.Context, from, to string, pages int) (string, error)
	// Audit keeps the audit trail; nil disables it.
	Audit AuditStore
	// SMS sends text messages; nil when no carrier offers SMS.
	SMS SMSService
	// CancelAtCarrier asks the fax's carrier to stop a fax it already has.
	CancelAtCarrier func(ctx context.Context, f *fax.Fax) error
	// RotationOverlap is how long a rotated endpoint secret keeps signing
	// (default 24h).
	RotationOverlap time.Duration

	// RateLimit is the sustained requests a second each API key may make
	// (the admin key counts as one key, "admin"); beyond it requests get
	// 429 with Retry-After. Default 0: no limit.
	RateLimit float64
	// RateBurst is how many requests a key may make at once before
	// RateLimit applies. Default max(1, ceil(RateLimit)).
	RateBurst int
	// RateLimitKeys caps the keys whose buckets are kept in memory.
	// Default DefaultRateLimitKeys.
	RateLimitKeys int
	// MaxInflightSends caps the POST /v1/faxes requests processed at once,
	// across all keys, counted from when a request's body is in; beyond it
	// requests get 503 with Retry-After at once instead of waiting.
	// Default 0: no cap.
	MaxInflightSends int
	// MaxInflightSendsPerKey caps one API key's sends in progress, counted
	// from when a request starts, body read included; beyond it the key's
	// requests get 429 with Retry-After. It is lowered to MaxInflightSends
	// when above it. Default 0: no cap.
	MaxInflightSendsPerKey int
	// SendBodyTimeout is how long a send's whole body may take to arrive;
	// a slower one gets 408. Default 0: only the server's own timeouts.
	SendBodyTimeout time.Duration
	// Metrics serves GET /metrics to keys with the metrics:read scope; nil
	// leaves the route answering 404.
	Metrics http.Handler
}

// Server serves API v1.
type Server struct {
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	ids   fax.IDGen
	mux   *http.ServeMux
	admin [][32]byte

	limiter *limiter
	sends   *sendSlots
}

// New builds a Server and its routes.
func New(opts Options) *Server {
	s := &Server{opts: opts, log: opts.Logger, now: opts.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.opts.MaxRecipients <= 0 {
		s.opts.MaxRecipients = 50
	}
	if s.opts.MaxDocument <= 0 {
		s.opts.MaxDocument = 20 << 20
	}
	if s.opts.RotationOverlap <= 0 {
		s.opts.RotationOverlap = 24 * time.Hour
	}
	for _, k := range opts.AdminKeys {
		s.admin = append(s.admin, sha256.Sum256([]byte(k)))
	}
	s.limiter = newLimiter(opts.RateLimit, opts.RateBurst, opts.RateLimitKeys)
	s.sends = newSendSlots(opts.MaxInflightSends, opts.MaxInflightSendsPerKey)
	s.mux = http.NewServeMux()
	paths := map[string][]string{}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
		paths[rt.path] = append(paths[rt.path], rt.method)
	}
	for p, methods := range paths {
		allow := strings.Join(methods, ", ")
		s.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			s.writeError(w, r, fax.Errorf(errMethod, "method %s not allowed; use %s", r.Method, allow))
		})
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, fax.Errorf(fax.ECodeNotFound, "no route %s %s", r.Method, r.URL.Path))
	})
	return s
}

// Mux exposes the router so that Main can add the carrier webhook routes.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

const (
	errMethod = "method_not_allowed"
	// errTimeout is a request body that did not arrive within its deadline.
	errTimeout = "timeout"
)

// status maps error codes to HTTP statuses.
func status(code string) int {
	switch code {
	case fax.ECodeInvalid:
		return http.StatusBadRequest
	case fax.ECodeUnauthorized:
		return http.StatusUnauthorized
	case fax.ECodeForbidden:
		return http.StatusForbidden
	case fax.ECodeNotFound:
		return http.StatusNotFound
	case errMethod:
		return http.StatusMethodNotAllowed
	case errTimeout:
		return http.StatusRequestTimeout
	case fax.ECodeConflict, fax.ECodeDocumentPending:
		return http.StatusConflict
	case fax.ECodeGone:
		return http.StatusGone
	case fax.ECodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case fax.ECodeUnsupportedType:
		return http.StatusUnsupportedMediaType
	case fax.ECodeUnprocessable:
		return http.StatusUnprocessableEntity
	case fax.ECodeRateLimited:
		return http.StatusTooManyRequests
	case fax.ECodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyPrincipal
)

// RequestID returns the request's id.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// WithRequestID gives every request an id (X-Request-Id when the client
// sent a sane one), echoed in the response and in every error.
func WithRequestID(next http.Handler, ids *fax.IDGen, now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !saneID(id) {
			id = ids.New("req_", now())
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyRequestID, id)))
	})
}

func saneID(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// WriteError writes err in the API's error shape; internal errors are logged
// with the request id and shown only as a generic message.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := fax.ErrorCode(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		code, err = fax.ECodeTooLarge, fax.Errorf(fax.ECodeTooLarge, "request body is larger than %d bytes", mbe.Limit)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		code, err = fax.ECodeUnavailable, fax.Errorf(fax.ECodeUnavailable, "the request was canceled or timed out")
	}
	msg := fax.ErrorMessage(err)
	rid := RequestID(r.Context())
	if code == fax.ECodeInternal {
		log.Error("internal error", "request_id", rid, "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error; quote request id " + rid + " when reporting it"
	}
	if code == fax.ECodeUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status(code), map[string]any{"error": map[string]string{"code": code, "message": msg, "request_id": rid}})
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(w, r, s.log, UnavailableIfDown(r.Context(), s.opts.Store, err))
}

// UnavailableIfDown turns an internal error into 503 "unavailable" when the
// database does not answer: clients and carriers then retry later, and
// nothing was acknowledged that was not stored.
func UnavailableIfDown(ctx context.Context, db interface{ Ping(context.Context) error }, err error) error {
	if err == nil || db == nil || fax.ErrorCode(err) != fax.ECodeInternal {
		return err
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if db.Ping(pctx) != nil {
		return fax.Because(err, fax.ECodeUnavailable, "the database is unavailable; try again shortly")
	}
	return err
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"encoding failed"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// route is one API route: method, path pattern, required scope ("" for
// public routes) and handler.
type route struct {
	method  string
	path    string
	scope   fax.Scope
	summary string
	h       func(http.ResponseWriter, *http.Request) error
}

func (s *Server) wrap(rt route) http.Handler {
	query := operations()[rt.method+" "+rt.path].query
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.scope != "" {
			k, err := s.authenticate(r)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="faxgate"`)
				s.writeError(w, r, err)
				return
			}
			if !s.limit(w, r, k) {
				return
			}
			if !k.Has(rt.scope) {
				s.writeError(w, r, fax.Errorf(fax.ECodeForbidden, "this API key lacks the %s scope", rt.scope))
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), keyPrincipal, k))
		}
		// Every route takes only the query parameters its OpenAPI
		// operation lists, each once.
		if err := checkQuery(r.URL.RawQuery, query); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := rt.h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func principal(ctx context.Context) *fax.APIKey {
	k, _ := ctx.Value(keyPrincipal).(*fax.APIKey)
	return k
}

// authenticate finds the API key of a request. Admin keys are compared in
// constant time; stored keys are found by their SHA-256.
func (s *Server) authenticate(r *http.Request) (*fax.APIKey, error) {
	if k := servedAs(r.Context()); k != nil {
		return k, nil
	}
	key := r.Header.Get("X-API-Key")
	if a := r.Header.Get("Authorization"); key == "" && a != "" {
		scheme, rest, ok := strings.Cut(a, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return nil, fax.Errorf(fax.ECodeUnauthorized, "use Authorization: Bearer <key> or X-API-Key: <key>")
		}
		key = strings.TrimSpace(rest)
	}
	if key == "" {
		return nil, fax.Errorf(fax.ECodeUnauthorized, "missing API key: send Authorization: Bearer <key> or X-API-Key: <key>")
	}
	if len(key) > 256 {
		return nil, fax.Errorf(fax.ECodeUnauthorized, "invalid API key")
	}
	return s.principalByHash(r.Context(), sha256.Sum256([]byte(key)))
}

// decodeJSON reads a JSON object into v strictly: unknown fields, trailing
// data and wrong types are 400s naming the problem.
func decodeJSON(r *http.Request, max int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return fax.Errorf(fax.ECodeUnsupportedType, "send Content-Type: application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return fax.Errorf(fax.ECodeInvalid, "request body has data after the JSON object")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return fax.Errorf(fax.ECodeInvalid, "request body has data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return fax.Errorf(fax.ECodeInvalid, "request body is empty; want a JSON object")
	case errors.As(err, &se):
		return fax.Errorf(fax.ECodeInvalid, "request body is not valid JSON (at byte %d)", se.Offset)
	case errors.As(err, &te):
		return fax.Errorf(fax.ECodeInvalid, "field %s must be %s", te.Field, te.Type)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fax.Errorf(errTimeout, "the request body did not arrive in time")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fax.Errorf(fax.ECodeInvalid, "request body is truncated JSON")
	}
	// Unknown fields have no error type of their own; the decoder's text
	// names the field and is safe to show.
	return fax.Errorf(fax.ECodeInvalid, "request body: %s", strings.TrimPrefix(err.Error(), "json: "))
}
