package fax

import (
	"slices"
	"strconv"
	"time"
)

// EventSpec is an event that applying an update causes.
type EventSpec struct {
	Type       EventType
	Page       int
	RetryCount int
	// Attempt, Reason and RetryAt describe a redial faxgate scheduled
	// (fax.retry_scheduled): the next attempt's number, why the last one
	// ended and when the next is due.
	Attempt int
	Reason  string
	RetryAt time.Time
}

// Apply works out what a carrier update does to an outbound fax: it mutates f
// and returns the events to record. It returns nil when the update changes
// nothing because it is stale or repeated: a final status never changes, a
// status never moves backwards, a page already reported is not reported
// again. The one exception is a fax failed as not confirmed: the carrier's
// own final report (sent, or failed for a reason of its own) settles it,
// because the carrier knows what faxgate could not. The workflow calls
// Apply for a store, inside the transaction that saves f, so the decision
// and its effects commit together.
func Apply(f *Fax, u *Update, now time.Time) []EventSpec {
	if f.Status.Final() {
		if !SettlesUnconfirmed(f, u) {
			return nil
		}
		// Reopened only within this call: the switch below moves it to
		// the carrier's final status at once.
		f.Status, f.CompletedAt = StatusSending, nil
	}
	if u.ProviderFaxID != "" && f.ProviderFaxID == "" {
		f.ProviderFaxID = u.ProviderFaxID
	}
	switch u.Kind {
	case UpdateStatus:
		if !CanTransition(f.Status, u.Status) || !u.Status.OutboundStatus() {
			return nil
		}
		f.Status = u.Status
		if u.Pages > 0 {
			f.Pages = u.Pages
		}
		f.UpdatedAt = now
		switch u.Status {
		case StatusSent:
			f.PagesSent = f.Pages
			f.Failure = nil
		case StatusFailed:
			f.Failure = failureOrDefault(u.Failure)
		case StatusCanceled:
			f.Failure = &Failure{Code: FailCanceled, Message: "canceled before it was sent"}
		}
		if f.Status.Final() {
			t := now
			if !u.OccurredAt.IsZero() && !u.OccurredAt.After(now) {
				t = u.OccurredAt.UTC()
			}
			f.CompletedAt = &t
		}
		return []EventSpec{{Type: EventForStatus(f.Status)}}
	case UpdatePage:
		if u.Page <= f.PagesSent || u.Page <= 0 {
			return nil
		}
		var ev []EventSpec
		if f.Status == StatusQueued {
			f.Status = StatusSending
			ev = append(ev, EventSpec{Type: EventFaxSending})
		}
		f.PagesSent = u.Page
		if u.Pages > f.Pages {
			f.Pages = u.Pages
		}
		f.UpdatedAt = now
		return append(ev, EventSpec{Type: EventFaxPageSent, Page: u.Page})
	case UpdateRetry:
		f.UpdatedAt = now
		return []EventSpec{{Type: EventFaxRetryScheduled, RetryCount: u.RetryCount}}
	}
	return nil
}

// SettlesUnconfirmed reports whether u is a carrier's final report on a
// fax that faxgate failed as not confirmed, which it may replace.
func SettlesUnconfirmed(f *Fax, u *Update) bool {
	if f.Status != StatusFailed || f.Failure == nil || f.Failure.Code != FailNotConfirmed || u.Kind != UpdateStatus {
		return false
	}
	switch u.Status {
	case StatusSent:
		return true
	case StatusFailed:
		return u.Failure == nil || u.Failure.Code != FailNotConfirmed
	}
	return false
}

func failureOrDefault(fl *Failure) *Failure {
	if fl == nil {
		return &Failure{Code: FailGeneral, Message: "the carrier reported a failure without details"}
	}
	c := *fl
	if c.Code == "" {
		c.Code = FailCarrier
	}
	if c.Message == "" {
		c.Message = c.CarrierMessage
	}
	if c.Message == "" {
		c.Message = "the carrier reported a failure"
	}
	return &c
}

// DedupeKey returns u.EventKey or, when the parser left it empty, a key made
// of the fields that identify a carrier event, so that the same event
// delivered twice collides.
func (u *Update) DedupeKey() string {
	if u.EventKey != "" {
		return u.EventKey
	}
	// With both ids, both count: a redialed fax's second call is a new
	// carrier job, and its report is not a repeat of the first call's.
	id, job := u.FaxID, ""
	if id == "" {
		id = u.ProviderFaxID
	} else if u.ProviderFaxID != "" {
		job = "/" + u.ProviderFaxID
	}
	return string(u.Kind) + ":" + id + job + ":" + string(u.Status) + ":" + strconv.Itoa(u.Page) + ":" + strconv.Itoa(u.RetryCount)
}

// NamesOther reports whether u, addressed by faxgate's id, names a carrier
// id other than carrierID, the one the record already has. Such an update
// is about another fax (or SMS) than the one its id vouches for: a per-fax
// token verified the id, not the carrier's.
func (u *Update) NamesOther(carrierID string) bool {
	return u.FaxID != "" && u.ProviderFaxID != "" && carrierID != "" && carrierID != u.ProviderFaxID
}

// DispatchJob is an outbound fax claimed for handing to its carrier.
type DispatchJob struct {
	Fax *Fax
	// Attempt counts hand-over attempts, this one included.
	Attempt int
	// Resumed is true when an earlier claim ended without a recorded
	// outcome (the process died mid-send): the carrier may or may not have
	// the fax, so a carrier that can be asked must be asked first.
	Resumed bool
	// Check is true when the carrier has, or may have, the fax and no final
	// result has come: the job is to ask the carrier for it (or give up
	// after the carrier's result timeout), never to send. HandedAt is when
	// the fax was handed over or held as unconfirmed.
	Check    bool
	HandedAt time.Time
}

// ClaimSlots says how many faxes a claim may take per carrier: the free
// send slots of each. Other takes faxes of carriers not named, which the
// dispatcher can only fail ("not configured").
type ClaimSlots struct {
	PerProvider map[string]int
	Other       int
}

// SlotClaim is one query of a claim: up to Limit faxes of Carrier, or,
// when Carrier is empty, of any carrier but those in Except.
type SlotClaim struct {
	Carrier string
	Except  []string
	Limit   int
}

// Claims lists the queries a claim makes, in order: each named carrier
// with free slots on its own, by name, so that one carrier's backlog never
// holds back another's faxes; then the carriers not named, if Other allows.
func (c ClaimSlots) Claims() []SlotClaim {
	names := make([]string, 0, len(c.PerProvider))
	for p := range c.PerProvider {
		names = append(names, p)
	}
	slices.Sort(names)
	out := make([]SlotClaim, 0, len(names)+1)
	for _, p := range names {
		if n := c.PerProvider[p]; n > 0 {
			out = append(out, SlotClaim{Carrier: p, Limit: n})
		}
	}
	if c.Other > 0 {
		out = append(out, SlotClaim{Except: names, Limit: c.Other})
	}
	return out
}

// Total is the most faxes the claim may take.
func (c ClaimSlots) Total() int {
	n := max(c.Other, 0)
	for _, v := range c.PerProvider {
		n += max(v, 0)
	}
	return n
}
