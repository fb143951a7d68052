package main

import (
	"context"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/gofax"
)

// smsService sends SMS through GoFax, the one carrier here that offers it.
type smsService struct {
	store store
	gofax *gofax.Provider
	apply func(ctx context.Context, u *fax.Update) (fax.ApplyResult, error)
}

func (s *smsService) Provider(p string) (string, error) {
	if p == "" || p == gofax.Name {
		return gofax.Name, nil
	}
	return "", fax.Errorf(fax.ECodeUnprocessable, "provider %s cannot send SMS; only gofax can", p)
}

func (s *smsService) Find(ctx context.Context, id string) (*fax.SMS, error) {
	return s.store.FindSMSByID(ctx, id)
}

// Send records the SMS, hands it to GoFax, and records the outcome: a
// refusal fails it (sms.failed); a carrier that clearly did not take it is
// reported as unavailable after failing the record, so a client may send
// again; an unclear outcome leaves it queued for GoFax's webhook to settle.
func (s *smsService) Send(ctx context.Context, provider string, m *fax.SMS, text string) (*fax.SMS, error) {
	created, err := s.store.CreateSMS(ctx, m)
	if err != nil {
		return nil, err
	}
	id, err := s.gofax.SendSMS(ctx, created.ID, created.To, text)
	if err == nil {
		if err := s.store.MarkSMSHanded(ctx, created.ID, id); err != nil {
			return nil, err
		}
		return s.store.FindSMSByID(ctx, created.ID)
	}
	if fe := fax.ErrorCode(err); fe == fax.ECodeInvalid {
		s.fail(ctx, created.ID, &fax.Failure{Code: fax.FailCarrier, Message: fax.ErrorMessage(err)})
		return nil, err
	}
	se := fax.AsSendError(err)
	switch se.Outcome {
	case fax.SendPermanent:
		fl := se.Failure
		if fl == nil {
			fl = &fax.Failure{Code: fax.FailCarrier, Message: "GoFax refused the SMS"}
		}
		s.fail(ctx, created.ID, fl)
		return nil, fax.Errorf(fax.ECodeUnprocessable, "%s", fl.Message)
	case fax.SendRetryable:
		s.fail(ctx, created.ID, &fax.Failure{Code: fax.FailCarrier, Message: "GoFax did not take the SMS; it was not sent"})
		return nil, fax.Errorf(fax.ECodeUnavailable, "GoFax did not take the SMS; try again")
	}
	return s.store.FindSMSByID(ctx, created.ID)
}

func (s *smsService) fail(ctx context.Context, id string, fl *fax.Failure) {
	s.apply(context.WithoutCancel(ctx), &fax.Update{Provider: gofax.Name, Kind: fax.UpdateSMS, FaxID: id,
		EventKey: "gofax:sms-refused:" + id, Status: fax.StatusFailed, Failure: fl})
}
