package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

// SMSService sends text messages through a carrier that offers them and
// finds them again. Send records the SMS before handing it over, so the
// carrier's callback always finds it.
type SMSService interface {
	Send(ctx context.Context, provider string, m *fax.SMS, text string) (*fax.SMS, error)
	Find(ctx context.Context, id string) (*fax.SMS, error)
	// Provider picks the carrier for provider ("" for the default), or says
	// why none can send SMS.
	Provider(provider string) (string, error)
}

type smsRequest struct {
	To       string `json:"to"`
	Text     string `json:"text"`
	Provider string `json:"provider"`
}

func (s *Server) handleSMSCreate(w http.ResponseWriter, r *http.Request) error {
	if s.opts.SMS == nil {
		return fax.Errorf(fax.ECodeUnprocessable, "no carrier that sends SMS is configured (SMS goes through GoFax: set GOFAX_TOKEN)")
	}
	var req smsRequest
	if err := decodeJSON(r, 32<<10, &req); err != nil {
		return err
	}
	m, err := fax.NewSMS(req.To, req.Text)
	if err != nil {
		return err
	}
	provider, err := s.opts.SMS.Provider(req.Provider)
	if err != nil {
		return err
	}
	m.Provider = provider
	if k := principal(r.Context()); k != nil && !k.Admin {
		m.OwnerKeyID = k.ID
	}
	out, err := s.opts.SMS.Send(r.Context(), provider, m, req.Text)
	if err != nil {
		return err
	}
	s.audit(r, "sms.send", "sms", out.ID)
	s.log.InfoContext(r.Context(), "sms accepted", "sms_id", out.ID, "provider", provider, "to", fax.MaskNumber(out.To), "status", string(out.Status))
	writeJSON(w, http.StatusAccepted, wire.FromSMS(out))
	return nil
}

func (s *Server) handleSMSGet(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if s.opts.SMS == nil || !strings.HasPrefix(id, fax.PrefixSMS) || len(id) > 64 {
		return fax.Errorf(fax.ECodeNotFound, "SMS %q not found", truncate(id, 64))
	}
	m, err := s.opts.SMS.Find(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.FromSMS(m))
	return nil
}
