package fax

import (
	"slices"
	"time"
)

// MaxAttemptsLimit is the most dial attempts one send may ask for
// (max_attempts).
const MaxAttemptsLimit = 10

// DialAttempt is one earlier try at a fax that ended without it: a line
// that was busy (redialed later) or a carrier that did not accept it (the
// next carrier took over). The try in progress, or the last one, is the
// fax itself; Fax.AttemptList shows them all.
type DialAttempt struct {
	Number   int
	Provider string
	// ProviderFaxID is the carrier's job id of this try, kept so that a
	// late report about it is never taken for the next try's.
	ProviderFaxID string
	// StartedAt is when the try became due; EndedAt when it ended.
	StartedAt time.Time
	EndedAt   time.Time
	// Outcome is AttemptRedial or AttemptFailover.
	Outcome string
	Failure *Failure
	// RetryAt is when the next dial was due (AttemptRedial only).
	RetryAt *time.Time
}

// Outcomes of an earlier attempt.
const (
	// AttemptRedial: the line was busy, did not answer or failed before
	// the call was answered; the number was dialed again later.
	AttemptRedial = "redial"
	// AttemptFailover: the carrier definitively did not accept the fax;
	// it moved at once to the next carrier.
	AttemptFailover = "failover"
)

// RedialPolicy says when a busy line is dialed again. MaxAttempts itself is
// per fax (Fax.MaxAttempts).
type RedialPolicy struct {
	// Interval is the wait before each redial (default 5m).
	Interval time.Duration
}

// Wait is the wait before a redial, with the default filled in.
func (p RedialPolicy) Wait() time.Duration {
	if p.Interval <= 0 {
		return 5 * time.Minute
	}
	return p.Interval
}

// atCallSetup reports whether a carrier's failure type says the call was
// never answered, so that a line error of that type transmitted nothing.
// Carriers that report line errors without saying when they happened
// (Phaxio's and Sinch's lineError, GoFax's messages) have none: a line
// error there may have come mid-page.
func atCallSetup(provider, carrierType string) bool {
	switch provider {
	case "asterisk":
		return carrierType == "OriginateResponse"
	}
	return false
}

// Redialable reports whether failure fl of f's current attempt means
// nothing was transmitted and the number may be dialed again: busy, no
// answer or congestion, or a line error the carrier reports at call
// set-up, and no page sent. A partial or ambiguous outcome (pages sent,
// not_confirmed, a carrier error of no class) never is.
func Redialable(f *Fax, fl *Failure) bool {
	if fl == nil || f.PagesSent > 0 || f.Direction != Outbound {
		return false
	}
	switch fl.Code {
	case FailBusy, FailNoAnswer, FailCongestion:
		return true
	case FailLine:
		return atCallSetup(f.Provider, fl.CarrierType)
	}
	return false
}

// DialNumber is the number of f's current dial attempt: 1 for the first,
// counting redials but not failovers, which do not use one up.
func (f *Fax) DialNumber() int {
	n := 1
	for i := range f.Attempts {
		if f.Attempts[i].Outcome == AttemptRedial {
			n++
		}
	}
	return n
}

// AttemptStart is when f's current attempt became due: when the last
// earlier one ended (a failover) or its redial was due, else when the fax
// was created.
func (f *Fax) AttemptStart() time.Time {
	if len(f.Attempts) == 0 {
		return f.CreatedAt
	}
	a := &f.Attempts[len(f.Attempts)-1]
	if a.RetryAt != nil {
		return *a.RetryAt
	}
	return a.EndedAt
}

// Redial ends f's current attempt with failure fl, if the policy and
// f.MaxAttempts (0: one attempt) leave a dial: the attempt is recorded,
// f goes back to queued with no carrier id, and the returned time is when
// the next attempt is due. ok is false, and f unchanged, when fl is not
// redialable or no dial is left; f then fails as usual.
func Redial(f *Fax, fl *Failure, p RedialPolicy, now time.Time) (retryAt time.Time, ok bool) {
	if f.Status.Final() || !Redialable(f, fl) || f.DialNumber() >= f.MaxAttempts {
		return time.Time{}, false
	}
	retryAt = now.Add(p.Wait())
	c := *fl
	f.Attempts = append(f.Attempts, DialAttempt{
		Number: len(f.Attempts) + 1, Provider: f.Provider, ProviderFaxID: f.ProviderFaxID,
		StartedAt: f.AttemptStart(), EndedAt: now, Outcome: AttemptRedial, Failure: &c, RetryAt: &retryAt,
	})
	f.Status, f.ProviderFaxID, f.Failure, f.PagesSent, f.UpdatedAt = StatusQueued, "", nil, 0, now
	return retryAt, true
}

// NextCarrier is the carrier a fax moves to when its current one did not
// accept it: the first of fallback that is neither its carrier now nor one
// it already tried, or "" when none is left.
func NextCarrier(f *Fax, fallback []string) string {
	for _, p := range fallback {
		if p == f.Provider || slices.ContainsFunc(f.Attempts, func(a DialAttempt) bool { return a.Provider == p }) {
			continue
		}
		return p
	}
	return ""
}

// Failover ends f's current attempt, which carrier f.Provider definitively
// did not accept (failure fl), and moves f to carrier next, queued for an
// attempt at once. It uses up no dial: nothing was dialed.
func Failover(f *Fax, fl *Failure, next string, now time.Time) {
	var c *Failure
	if fl != nil {
		cp := *fl
		c = &cp
	}
	f.Attempts = append(f.Attempts, DialAttempt{
		Number: len(f.Attempts) + 1, Provider: f.Provider, ProviderFaxID: f.ProviderFaxID,
		StartedAt: f.AttemptStart(), EndedAt: now, Outcome: AttemptFailover, Failure: c,
	})
	f.Provider, f.ProviderFaxID, f.Failure, f.PagesSent, f.UpdatedAt = next, "", nil, 0, now
}

// TriedJob reports whether id is the carrier job id of one of f's earlier
// attempts: a report about it is about a try that has ended.
func (f *Fax) TriedJob(provider, id string) bool {
	if id == "" {
		return false
	}
	for i := range f.Attempts {
		if f.Attempts[i].Provider == provider && f.Attempts[i].ProviderFaxID == id {
			return true
		}
	}
	return false
}
