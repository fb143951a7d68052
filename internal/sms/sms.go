// Package sms owns the SMS send workflow: record the message, hand it to the
// one carrier that sends SMS, and record the outcome. It sits between the
// API and the store and carrier; it must not import api, a store or a
// carrier package (it takes what it needs as interfaces).
package sms

import (
	"context"
	"fmt"

	"github.com/faxgate/faxgate/internal/fax"
)

// Store is what the workflow needs of a store.
type Store interface {
	CreateSMS(ctx context.Context, m *fax.SMS) (*fax.SMS, error)
	FindSMSByID(ctx context.Context, id string) (*fax.SMS, error)
	MarkSMSHanded(ctx context.Context, id, providerSMSID string) error
}

// Sender hands an SMS to a carrier and returns the carrier's id for it
// (GoFax's *gofax.Provider is one).
type Sender interface {
	SendSMS(ctx context.Context, id, to, text string) (string, error)
}

// Options configures a Service. Every field is required.
type Options struct {
	Store  Store
	Sender Sender
	// Carrier is the sender's provider name (gofax.Name).
	Carrier string
	// Label is how messages name the carrier to a user ("GoFax").
	Label string
	// ApplyFunc applies a status update through ingest, so that a refusal
	// causes its event (sms.failed) like any other carrier update.
	ApplyFunc func(ctx context.Context, u *fax.Update) error
}

// Service sends SMS; it implements api.SMSService.
type Service struct {
	o Options
}

// New returns a Service for o.
func New(o Options) *Service { return &Service{o: o} }

// Provider picks the carrier for p ("" for the default), or says why p
// cannot send SMS.
func (s *Service) Provider(p string) (string, error) {
	if p == "" || p == s.o.Carrier {
		return s.o.Carrier, nil
	}
	return "", fax.Errorf(fax.ECodeUnprocessable, "provider %s cannot send SMS; only %s can", p, s.o.Carrier)
}

// Find returns the SMS with id.
func (s *Service) Find(ctx context.Context, id string) (*fax.SMS, error) {
	return s.o.Store.FindSMSByID(ctx, id)
}

// Send records the SMS, hands it to the carrier, and records the outcome: a
// refusal fails it (sms.failed); a carrier that clearly did not take it is
// reported as unavailable after failing the record, so a client may send
// again; an unclear outcome leaves it queued for the carrier's webhook to
// settle. When the failure cannot be recorded, that error is returned
// instead: the record still says queued, and the client must not be told
// otherwise.
func (s *Service) Send(ctx context.Context, provider string, m *fax.SMS, text string) (*fax.SMS, error) {
	created, err := s.o.Store.CreateSMS(ctx, m)
	if err != nil {
		return nil, err
	}
	id, err := s.o.Sender.SendSMS(ctx, created.ID, created.To, text)
	if err == nil {
		if err := s.o.Store.MarkSMSHanded(ctx, created.ID, id); err != nil {
			return nil, err
		}
		return s.o.Store.FindSMSByID(ctx, created.ID)
	}
	if fe := fax.ErrorCode(err); fe == fax.ECodeInvalid {
		if ferr := s.fail(ctx, created.ID, &fax.Failure{Code: fax.FailCarrier, Message: fax.ErrorMessage(err)}); ferr != nil {
			return nil, ferr
		}
		return nil, err
	}
	se := fax.AsSendError(err)
	switch se.Outcome {
	case fax.SendPermanent:
		fl := se.Failure
		if fl == nil {
			fl = &fax.Failure{Code: fax.FailCarrier, Message: s.o.Label + " refused the SMS"}
		}
		if ferr := s.fail(ctx, created.ID, fl); ferr != nil {
			return nil, ferr
		}
		return nil, fax.Errorf(fax.ECodeUnprocessable, "%s", fl.Message)
	case fax.SendRetryable:
		if ferr := s.fail(ctx, created.ID, &fax.Failure{Code: fax.FailCarrier, Message: s.o.Label + " did not take the SMS; it was not sent"}); ferr != nil {
			return nil, ferr
		}
		return nil, fax.Errorf(fax.ECodeUnavailable, "%s did not take the SMS; try again", s.o.Label)
	}
	return s.o.Store.FindSMSByID(ctx, created.ID)
}

// fail records the SMS as failed. It outlives the request's context: the
// carrier's answer is known and must not be lost to a client hanging up.
func (s *Service) fail(ctx context.Context, id string, fl *fax.Failure) error {
	err := s.o.ApplyFunc(context.WithoutCancel(ctx), &fax.Update{Provider: s.o.Carrier, Kind: fax.UpdateSMS, FaxID: id,
		EventKey: s.o.Carrier + ":sms-refused:" + id, Status: fax.StatusFailed, Failure: fl})
	if err != nil {
		return fmt.Errorf("sms: recording %s as failed: %w", id, err)
	}
	return nil
}
