package workflow

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

// Outcome is what applying a carrier event came to, recorded with the event
// for deduplication.
type Outcome string

const (
	// Applied: a state change or an inflight event was recorded.
	Applied Outcome = "applied"
	// Stale: the update would move the record backwards or repeat.
	Stale Outcome = "stale"
	// Unknown: no record matched. A store does not keep such a carrier
	// event: recorded, its key would turn the genuine event for that record
	// into a duplicate.
	Unknown Outcome = "unknown"
)

// Change is what a rule decided about one fax or SMS: what to report, the
// outcome to record with the carrier event, whether the record must be
// written, and the events to record with their data rendered.
type Change struct {
	Result  fax.ApplyResult
	Outcome Outcome
	// Save is true when the record changed and must be written. A stale
	// update may still change a fax (it told the carrier's id).
	Save   bool
	Events []fax.Event
	// RedialAt, when set, is when the fax, back to queued, is due for its
	// next dial attempt: the store puts it back in the dispatch queue.
	RedialAt *time.Time
}

func unknown() Change {
	return Change{Outcome: Unknown, Result: fax.ApplyResult{Unknown: true}}
}

// applied fills c as an applied change with events evs.
func (c *Change) applied(evs []fax.Event) {
	c.Outcome, c.Save, c.Events = Applied, true, evs
	c.Result.Applied = true
	c.Result.Events = make([]string, len(evs))
	for i := range evs {
		c.Result.Events[i] = evs[i].ID
	}
}

// Matches reports whether update u may touch fax f, the one a store found
// by the ids u names: a fax of another carrier never matches, so one
// carrier's credentials cannot touch another's faxes, and neither does an
// update naming another carrier id than the fax has.
func Matches(f *fax.Fax, u *fax.Update) bool {
	if f.Provider != u.Provider || f.Direction != fax.Outbound {
		return false
	}
	// A report about an earlier attempt (a busy try since redialed) is
	// about a call that has ended; the fax is on another one now.
	return !u.NamesOther(f.ProviderFaxID) && !f.TriedJob(u.Provider, u.ProviderFaxID)
}

// ApplyToFax decides what carrier update u does to f, the fax a store found
// for it (nil when none), redialing by the default policy; see
// ApplyToFaxRedial.
func ApplyToFax(ids *fax.IDGen, f *fax.Fax, u *fax.Update, now time.Time) (Change, error) {
	return ApplyToFaxRedial(ids, f, u, now, fax.RedialPolicy{})
}

// ApplyToFaxRedial decides what carrier update u does to f, the fax a store
// found for it (nil when none): it changes f in place and returns the
// change to save. See fax.Apply for the transition rules. A failure that
// transmitted nothing, with a dial left (fax.Redial), does not fail the
// fax: it goes back to queued, due again after p's interval, announced by
// fax.retry_scheduled.
func ApplyToFaxRedial(ids *fax.IDGen, f *fax.Fax, u *fax.Update, now time.Time, p fax.RedialPolicy) (Change, error) {
	if f == nil || !Matches(f, u) {
		return unknown(), nil
	}
	c := Change{Result: fax.ApplyResult{FaxID: f.ID}}
	if u.Kind == fax.UpdateStatus && u.Status == fax.StatusFailed && !f.Status.Final() {
		if u.ProviderFaxID != "" && f.ProviderFaxID == "" {
			f.ProviderFaxID = u.ProviderFaxID
		}
		if at, ok := fax.Redial(f, u.Failure, p, now); ok {
			last := f.Attempts[len(f.Attempts)-1]
			evs, err := Events(ids, f, []fax.EventSpec{{Type: fax.EventFaxRetryScheduled, RetryCount: f.DialNumber() - 1,
				Attempt: f.DialNumber(), Reason: last.Failure.Code, RetryAt: at}}, now)
			if err != nil {
				return Change{}, err
			}
			c.applied(evs)
			c.RedialAt = &at
			return c, nil
		}
	}
	hadID := f.ProviderFaxID
	specs := fax.Apply(f, u, now)
	if len(specs) == 0 {
		c.Outcome, c.Result.Stale = Stale, true
		// Asterisk's call answered after the fax was sending: stale, but
		// the carrier's id is news.
		c.Save = f.ProviderFaxID != hadID
		return c, nil
	}
	MergeDetails(&f.Details, u.Details)
	evs, err := Events(ids, f, specs, now)
	if err != nil {
		return Change{}, err
	}
	c.applied(evs)
	return c, nil
}

// Receive makes the received fax an inbound update describes, with its
// fax.received event. The update's document must already be stored (or the
// update carry the failure that left none).
func Receive(ids *fax.IDGen, u *fax.Update, now time.Time) (*fax.Fax, Change, error) {
	doc := u.Document
	if doc == nil {
		doc = &fax.InboundDocument{}
	}
	if doc.Key == "" && u.Failure == nil {
		return nil, Change{}, fmt.Errorf("workflow: receive: inbound update without a stored document or a failure")
	}
	st := u.Status
	if st != fax.StatusPartial {
		st = fax.StatusReceived
	}
	t := now
	f := &fax.Fax{
		ID: ids.New(fax.PrefixFax, t), Direction: fax.Inbound, Status: st, To: u.To, From: u.From,
		Provider: u.Provider, ProviderFaxID: u.ProviderFaxID, Pages: u.Pages, PagesSent: u.Pages, Failure: u.Failure,
		DocumentKey: doc.Key, DocumentSize: doc.Size, DocumentSHA256: doc.SHA256, CreatedAt: t, UpdatedAt: t, CompletedAt: &t,
	}
	MergeDetails(&f.Details, u.Details)
	if doc.Key != "" {
		f.DocumentType, f.DocumentStatus = "application/pdf", fax.DocumentAvailable
	} else {
		f.DocumentStatus, f.DocumentError = fax.DocumentUnavailable, u.Failure.Message
	}
	evs, err := Events(ids, f, []fax.EventSpec{{Type: fax.EventFaxReceived}}, t)
	if err != nil {
		return nil, Change{}, err
	}
	c := Change{Result: fax.ApplyResult{FaxID: f.ID}}
	c.applied(evs)
	return f, c, nil
}

// ApplyToSMS decides what carrier update u does to m, the SMS a store found
// for it (nil when none): a final SMS never changes; sent or failed moves a
// queued one, with its sms.sent or sms.failed event. It changes m in place.
func ApplyToSMS(ids *fax.IDGen, m *fax.SMS, u *fax.Update, now time.Time) (Change, error) {
	if m == nil || u.NamesOther(m.ProviderSMSID) {
		return unknown(), nil
	}
	c := Change{Result: fax.ApplyResult{FaxID: m.ID}}
	if m.Status.Final() || (u.Status != fax.StatusSent && u.Status != fax.StatusFailed) {
		c.Outcome, c.Result.Stale = Stale, true
		return c, nil
	}
	m.Status, m.UpdatedAt, m.CompletedAt = u.Status, now, &now
	if m.ProviderSMSID == "" {
		m.ProviderSMSID = u.ProviderFaxID
	}
	t := fax.EventSMSSent
	if u.Status == fax.StatusFailed {
		t = fax.EventSMSFailed
		m.Failure = u.Failure
		if m.Failure == nil {
			m.Failure = &fax.Failure{Code: fax.FailCarrier, Message: "the carrier reported the SMS as not delivered"}
		}
	}
	data, err := json.Marshal(wire.FromSMS(m))
	if err != nil {
		return Change{}, fmt.Errorf("workflow: sms event: %w", err)
	}
	c.applied([]fax.Event{{ID: ids.New(fax.PrefixEvent, now), Type: t, FaxID: m.ID, CreatedAt: now, Data: data}})
	return c, nil
}

// NewOutbound makes the fax a store creates from f as the API built it:
// queued, with its fax.queued event and, when it has a callback_url, the
// implicit endpoint that receives that fax's events.
func NewOutbound(ids *fax.IDGen, f *fax.Fax, opts fax.CreateOptions, now time.Time) (*fax.Fax, *fax.Endpoint, []fax.Event, error) {
	c := *f
	c.Status, c.Direction = fax.StatusQueued, fax.Outbound
	c.CreatedAt, c.UpdatedAt = now, now
	if c.ID == "" {
		c.ID = ids.New(fax.PrefixFax, now)
	}
	var own *fax.Endpoint
	if c.CallbackURL != "" {
		format := opts.CallbackFormat
		if format == "" {
			format = fax.FormatJSON
		}
		own = &fax.Endpoint{
			ID: ids.New(fax.PrefixEndpoint, now), URL: c.CallbackURL, Format: format, APIVersion: fax.APIVersion,
			Secret: opts.CallbackSecret, FaxID: c.ID, Enabled: true, OwnerKeyID: c.OwnerKeyID,
			Description: "callback_url of " + c.ID, CreatedAt: now, UpdatedAt: now,
		}
	}
	evs, err := Events(ids, &c, []fax.EventSpec{{Type: fax.EventFaxQueued}}, now)
	if err != nil {
		return nil, nil, nil, err
	}
	return &c, own, evs, nil
}

// Reuse decides about a fax already stored with the same owner and
// idempotency key: it is returned again, unless it was made by a different
// request (its request hash differs), which is a conflict.
func Reuse(storedHash, requestHash string) error {
	if requestHash != "" && storedHash != "" && storedHash != requestHash {
		return fax.Errorf(fax.ECodeConflict, "Idempotency-Key was already used for a different request")
	}
	return nil
}

// Cancel cancels f, which must be an outbound fax not final yet, and
// returns the fax.canceled event.
func Cancel(ids *fax.IDGen, f *fax.Fax, now time.Time) ([]fax.Event, error) {
	if f.Direction != fax.Outbound {
		return nil, fax.Errorf(fax.ECodeConflict, "only outbound faxes can be canceled")
	}
	if f.Status.Final() {
		return nil, fax.Errorf(fax.ECodeConflict, "fax %s is already %s", f.ID, f.Status)
	}
	return move(ids, f, &fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusCanceled}, now)
}

// Claimed moves a fax claimed for hand-over to sending; no events (and
// nothing to save) when it already is.
func Claimed(ids *fax.IDGen, f *fax.Fax, now time.Time) ([]fax.Event, error) {
	return move(ids, f, &fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusSending}, now)
}

// Failover moves f, which its carrier definitively did not accept
// (failure fl), to the next carrier of fallback that it has not tried, to
// be sent there at once; no events. ok is false, and f unchanged, when no
// carrier is left: the fax then fails as it would without a fallback.
func Failover(f *fax.Fax, fl *fax.Failure, fallback []string, now time.Time) (next string, ok bool) {
	if f.Status.Final() {
		return "", false
	}
	if next = fax.NextCarrier(f, fallback); next == "" {
		return "", false
	}
	fax.Failover(f, fl, next, now)
	return next, true
}

// FailDispatch fails a fax that could not be handed over; no events (and
// nothing to save) when it is final already.
func FailDispatch(ids *fax.IDGen, f *fax.Fax, failure *fax.Failure, now time.Time) ([]fax.Event, error) {
	return move(ids, f, &fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusFailed, Failure: failure}, now)
}

func move(ids *fax.IDGen, f *fax.Fax, u *fax.Update, now time.Time) ([]fax.Event, error) {
	specs := fax.Apply(f, u, now)
	if len(specs) == 0 {
		return nil, nil
	}
	return Events(ids, f, specs, now)
}

// Events makes the events specs describe, their data frozen with f's state
// now, in the public shape every payload format starts from.
func Events(ids *fax.IDGen, f *fax.Fax, specs []fax.EventSpec, now time.Time) ([]fax.Event, error) {
	evs := make([]fax.Event, 0, len(specs))
	for _, sp := range specs {
		var data json.RawMessage
		var err error
		if sp.Attempt > 0 {
			data, err = wire.MarshalRetryData(f, sp.RetryCount, sp.Attempt, sp.Reason, sp.RetryAt)
		} else {
			data, err = wire.MarshalEventData(f, sp.Page, sp.RetryCount)
		}
		if err != nil {
			return nil, fmt.Errorf("workflow: event data: %w", err)
		}
		evs = append(evs, fax.Event{ID: ids.New(fax.PrefixEvent, now), Type: sp.Type, FaxID: f.ID, CreatedAt: now, Data: data})
	}
	return evs, nil
}

// NewEndpoint makes the endpoint a store creates from e as the API built
// it: enabled, with a new id.
func NewEndpoint(ids *fax.IDGen, e *fax.Endpoint, now time.Time) *fax.Endpoint {
	c := *e
	c.ID = ids.New(fax.PrefixEndpoint, now)
	c.CreatedAt, c.UpdatedAt = now, now
	c.Enabled = true
	return &c
}

// NewSMS makes the SMS a store records before handing it to its carrier:
// queued, with a new id.
func NewSMS(ids *fax.IDGen, m *fax.SMS, now time.Time) *fax.SMS {
	c := *m
	c.ID = ids.New(fax.PrefixSMS, now)
	c.Status, c.CreatedAt, c.UpdatedAt = fax.StatusQueued, now, now
	return &c
}

// NewAPIKey makes the key a store creates from k, with a new id unless k
// has one.
func NewAPIKey(ids *fax.IDGen, k *fax.APIKey, now time.Time) *fax.APIKey {
	c := *k
	if c.ID == "" {
		c.ID = ids.New(fax.PrefixAPIKey, now)
	}
	c.CreatedAt = now
	return &c
}

// CheckDeletable says whether f's record may be deleted: only once final,
// so that no worker or carrier callback is still moving it.
func CheckDeletable(f *fax.Fax) error {
	if !f.Status.Final() {
		return fax.Errorf(fax.ECodeConflict, "fax %s is %s; only a final fax can be deleted", f.ID, f.Status)
	}
	return nil
}
