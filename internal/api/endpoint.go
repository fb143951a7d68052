package api

import (
	"context"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

// endpointRequest is the body of create and update; pointers tell an update
// which fields to change. Its rules are fax.EndpointChange's.
type endpointRequest struct {
	URL         *string   `json:"url"`
	Events      *[]string `json:"events"`
	Inflight    *bool     `json:"inflight"`
	Format      *string   `json:"format"`
	Numbers     *[]string `json:"numbers"`
	Description *string   `json:"description"`
	APIVersion  *string   `json:"api_version"`
	Enabled     *bool     `json:"enabled"`
}

// endpointRules are the endpoint checks that depend on this server: its
// formats, and where events may go (checkEndpointURL). ctx bounds the
// url's lookup.
func (s *Server) endpointRules(ctx context.Context) fax.EndpointRules {
	return fax.EndpointRules{
		Formats:  s.opts.Formats,
		CheckURL: func(u string) error { return s.checkEndpointURL(ctx, "url", u) },
	}
}

func (s *Server) handleEndpointCreate(w http.ResponseWriter, r *http.Request) error {
	var req endpointRequest
	if err := decodeJSON(r, 256<<10, &req); err != nil {
		return err
	}
	ownerID := ""
	if k := principal(r.Context()); k != nil && !k.Admin {
		ownerID = k.ID
	}
	change := fax.EndpointChange(req)
	e, err := fax.NewEndpoint(&change, s.endpointRules(r.Context()), s.opts.NewSecret(), ownerID)
	if err != nil {
		return err
	}
	created, err := s.opts.Store.CreateEndpoint(r.Context(), e)
	if err != nil {
		return err
	}
	s.audit(r, "webhook_endpoint.create", "webhook_endpoint", created.ID)
	s.log.InfoContext(r.Context(), "webhook endpoint created", "endpoint_id", created.ID)
	out := wire.FromEndpoint(created)
	out.Secret = created.Secret
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func endpointID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !strings.HasPrefix(id, fax.PrefixEndpoint) || len(id) > 64 {
		return "", fax.Errorf(fax.ECodeNotFound, "webhook endpoint %q not found", truncate(id, 64))
	}
	return id, nil
}

func (s *Server) handleEndpointGet(w http.ResponseWriter, r *http.Request) error {
	id, err := endpointID(r)
	if err != nil {
		return err
	}
	e, err := s.opts.Store.FindEndpointByID(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.FromEndpoint(e))
	return nil
}

func (s *Server) handleEndpointList(w http.ResponseWriter, r *http.Request) error {
	limit, err := parseLimit(r.URL.Query().Get("limit"))
	if err != nil {
		return err
	}
	cursor := r.URL.Query().Get("cursor")
	if cursor != "" && !strings.HasPrefix(cursor, fax.PrefixEndpoint) {
		return fax.Errorf(fax.ECodeInvalid, "cursor is not one this API returned")
	}
	es, next, err := s.opts.Store.FindEndpoints(r.Context(), limit, cursor)
	if err != nil {
		return err
	}
	out := wire.List[wire.Endpoint]{Data: make([]wire.Endpoint, 0, len(es))}
	for _, e := range es {
		out.Data = append(out.Data, wire.FromEndpoint(e))
	}
	if next != "" {
		out.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleEndpointUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := endpointID(r)
	if err != nil {
		return err
	}
	var req endpointRequest
	if err := decodeJSON(r, 256<<10, &req); err != nil {
		return err
	}
	change := fax.EndpointChange(req)
	// Validate (and resolve the URL) before taking the write lock; under
	// it the url is taken as checked, and the rest is checked against the
	// endpoint as it is.
	if err := change.Apply(&fax.Endpoint{}, s.endpointRules(r.Context())); err != nil {
		return err
	}
	e, err := s.opts.Store.UpdateEndpoint(r.Context(), id, func(e *fax.Endpoint) error {
		return change.Apply(e, fax.EndpointRules{Formats: s.opts.Formats})
	})
	if err != nil {
		return err
	}
	s.audit(r, "webhook_endpoint.update", "webhook_endpoint", e.ID)
	s.log.InfoContext(r.Context(), "webhook endpoint updated", "endpoint_id", e.ID)
	writeJSON(w, http.StatusOK, wire.FromEndpoint(e))
	return nil
}

func (s *Server) handleEndpointDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := endpointID(r)
	if err != nil {
		return err
	}
	if err := s.opts.Store.DeleteEndpoint(r.Context(), id); err != nil {
		return err
	}
	s.audit(r, "webhook_endpoint.delete", "webhook_endpoint", id)
	s.log.InfoContext(r.Context(), "webhook endpoint deleted", "endpoint_id", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type rotateRequest struct {
	// Overlap is how long the old secret keeps signing, e.g. "24h"; "0s"
	// stops it at once.
	Overlap *string `json:"overlap"`
}

func (s *Server) handleEndpointRotate(w http.ResponseWriter, r *http.Request) error {
	id, err := endpointID(r)
	if err != nil {
		return err
	}
	var req rotateRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, 4<<10, &req); err != nil {
			return err
		}
	}
	overlap := s.opts.RotationOverlap
	if req.Overlap != nil {
		d, err := time.ParseDuration(*req.Overlap)
		if err != nil || d < 0 || d > 30*24*time.Hour {
			return fax.Errorf(fax.ECodeInvalid, "overlap must be a duration from 0s to 720h")
		}
		overlap = d
	}
	secret := s.opts.NewSecret()
	e, err := s.opts.Store.UpdateEndpoint(r.Context(), id, func(e *fax.Endpoint) error {
		exp := s.now().UTC().Add(overlap)
		e.PreviousSecret, e.PreviousSecretExpiresAt = e.Secret, &exp
		if overlap == 0 {
			e.PreviousSecret, e.PreviousSecretExpiresAt = "", nil
		}
		e.Secret = secret
		return nil
	})
	if err != nil {
		return err
	}
	s.audit(r, "webhook_endpoint.rotate_secret", "webhook_endpoint", e.ID)
	s.log.InfoContext(r.Context(), "webhook endpoint secret rotated", "endpoint_id", e.ID, "overlap", overlap.String())
	out := wire.FromEndpoint(e)
	out.Secret = e.Secret
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleCallbackSecret(w http.ResponseWriter, r *http.Request) error {
	if s.opts.CallbackSecret == nil {
		return fax.Errorf(fax.ECodeNotFound, "callback secret not available")
	}
	sec, err := s.opts.CallbackSecret(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"secret": sec})
	return nil
}

// checkEndpointURL is the one rule for where events may go: a webhook
// endpoint's url and a fax's own callback_url both pass it, so that neither
// reaches what the other may not. field names the field in messages.
func (s *Server) checkEndpointURL(ctx context.Context, field, u string) error {
	if u == "" || len(u) > 2048 {
		return fax.Errorf(fax.ECodeInvalid, "%s is required (at most 2048 characters)", field)
	}
	if strings.HasPrefix(strings.ToLower(u), "mailto:") {
		if !s.opts.EmailEnabled {
			return fax.Errorf(fax.ECodeUnprocessable, "%s: mailto: needs an SMTP relay: set FAXGATE_SMTP_URL", field)
		}
		if err := checkMailto(u); err != nil {
			return fax.Errorf(fax.ECodeInvalid, "%s: %s", field, fax.ErrorMessage(err))
		}
		return nil
	}
	if s.opts.CheckWebhookURL != nil {
		if err := s.opts.CheckWebhookURL(ctx, u); err != nil {
			return fax.Errorf(fax.ECodeInvalid, "%s: %s", field, fax.ErrorMessage(err))
		}
	}
	return nil
}

// checkMailto accepts mailto:a@b.example[,c@d.example] with plain addresses.
func checkMailto(u string) error {
	rest := u[len("mailto:"):]
	if strings.ContainsAny(rest, "?%") {
		// Headers (?bcc=, ?cc=) would add recipients, and percent-encoding
		// hides separators and line breaks from this check.
		return fax.Errorf(fax.ECodeInvalid, "mailto: takes plain addresses only, no ?headers or %%-encoding")
	}
	addrs := strings.Split(rest, ",")
	if len(addrs) == 0 || len(addrs) > 10 {
		return fax.Errorf(fax.ECodeInvalid, "mailto: needs 1 to 10 addresses")
	}
	for _, a := range addrs {
		parsed, err := mail.ParseAddress(a)
		if err != nil || parsed.Address != a || strings.ContainsAny(a, "\r\n") {
			return fax.Errorf(fax.ECodeInvalid, "%q is not a plain email address", truncate(a, 64))
		}
	}
	return nil
}

func (s *Server) handleEndpointTest(w http.ResponseWriter, r *http.Request) error {
	id, err := endpointID(r)
	if err != nil {
		return err
	}
	d, err := s.opts.Store.CreateTestEvent(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, wire.FromDelivery(d))
	return nil
}

type retryFailedRequest struct {
	Since string `json:"since"`
}

func (s *Server) handleEndpointRetryFailed(w http.ResponseWriter, r *http.Request) error {
	id, err := endpointID(r)
	if err != nil {
		return err
	}
	var req retryFailedRequest
	if err := decodeJSON(r, 4<<10, &req); err != nil {
		return err
	}
	since, err := time.Parse(time.RFC3339, req.Since)
	if err != nil {
		return fax.Errorf(fax.ECodeInvalid, "since must be an RFC 3339 time such as 2026-11-23T09:00:00Z")
	}
	n, err := s.opts.Store.RetryFailedDeliveries(r.Context(), id, since)
	if err != nil {
		return err
	}
	s.audit(r, "webhook_endpoint.retry_failed", "webhook_endpoint", id)
	s.log.InfoContext(r.Context(), "failed deliveries retried by hand", "endpoint_id", id, "count", n)
	writeJSON(w, http.StatusAccepted, map[string]int{"retried": n})
	return nil
}
