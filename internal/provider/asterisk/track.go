package asterisk

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// OriginateResponse Reason codes (Asterisk's AST_CONTROL_* values).
const (
	reasonFailure    = "0"
	reasonHangup     = "1"
	reasonNoAnswer   = "3" // rang, never answered
	reasonAnswered   = "4"
	reasonBusy       = "5"
	reasonCongestion = "8"
)

// Carrier types in the Failures faxgate records.
const (
	carrierOriginate = "OriginateResponse"
	carrierFaxResult = "FaxResult"
)

// tracker follows faxes handed to Asterisk until their final result: it
// turns AMI events into updates applied through Config.Apply, one at a
// time and in the order they came, and fails a fax whose result does not
// arrive within its timeout.
type tracker struct {
	p          *Provider
	applyRetry time.Duration // first wait before applying again after an error

	mu   sync.Mutex
	jobs map[string]*job // by fax id
	gen  uint64

	work   chan item
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// job is one fax in flight.
type job struct {
	gen uint64
	// key starts the event keys of this send: a redial is a call of its
	// own, whose events are not repeats of the first call's.
	key      string
	uniqueid string // Asterisk's Uniqueid, once the call was answered
	channel  string // the channel's name, to hang it up on timeout
	timer    *time.Timer
}

// item is one piece of work: an event, or a fax's timeout (gen tells a
// timer of an earlier send of the same fax from the current one).
type item struct {
	msg        Message
	timeoutFax string
	gen        uint64
}

func newTracker(p *Provider) *tracker {
	ctx, cancel := context.WithCancel(context.Background())
	return &tracker{p: p, applyRetry: time.Second, jobs: map[string]*job{}, work: make(chan item, 256),
		ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

func (t *tracker) start() { go t.run() }

func (t *tracker) close() {
	t.once.Do(func() {
		t.cancel()
		<-t.done
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, j := range t.jobs {
			if j.timer != nil {
				j.timer.Stop()
			}
		}
	})
}

// add starts tracking attempt (1 for the first, 0 unknown) of a fax,
// replacing an earlier send of it.
func (t *tracker) add(faxID string, attempt int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.jobs[faxID]; old != nil && old.timer != nil {
		old.timer.Stop()
	}
	t.gen++
	t.jobs[faxID] = &job{gen: t.gen, key: jobKey(faxID, attempt)}
}

// jobKey starts the event keys of a fax's attempt; the first attempt's
// keys are as they always were.
func jobKey(faxID string, attempt int) string {
	if attempt > 1 {
		return "asterisk:" + faxID + ":" + strconv.Itoa(attempt)
	}
	return "asterisk:" + faxID
}

// key is the start of the event keys of the fax's tracked send.
func (t *tracker) key(faxID string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if j := t.jobs[faxID]; j != nil {
		return j.key
	}
	return jobKey(faxID, 0)
}

// arm starts the fax's timeout.
func (t *tracker) arm(faxID string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	j := t.jobs[faxID]
	if j == nil {
		return
	}
	if j.timer != nil {
		j.timer.Stop()
	}
	gen := j.gen
	j.timer = time.AfterFunc(d, func() {
		select {
		case t.work <- item{timeoutFax: faxID, gen: gen}:
		case <-t.ctx.Done():
		}
	})
}

// drop stops tracking a fax that Asterisk never took, and removes its TIFF.
func (t *tracker) drop(faxID string) {
	t.end(faxID, 0)
}

// lookup reports whether the fax is tracked, with its Uniqueid if known.
func (t *tracker) lookup(faxID string) (uniqueid string, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if j := t.jobs[faxID]; j != nil {
		return j.uniqueid, true
	}
	return "", false
}

// adopt tracks a fax found on a live call (after a restart).
func (t *tracker) adopt(faxID string, attempt int, call liveCall) {
	t.add(faxID, attempt)
	t.mu.Lock()
	defer t.mu.Unlock()
	if j := t.jobs[faxID]; j != nil {
		j.channel, j.uniqueid = call.channel, call.uniqueid
	}
}

func (t *tracker) pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.jobs)
}

// end forgets a fax whose outcome is final (gen 0: whatever send) and
// removes its spooled TIFF: nothing reads it any more.
func (t *tracker) end(faxID string, gen uint64) *job {
	t.mu.Lock()
	j := t.jobs[faxID]
	if j != nil && (gen == 0 || j.gen == gen) {
		delete(t.jobs, faxID)
		if j.timer != nil {
			j.timer.Stop()
		}
	} else if gen != 0 {
		t.mu.Unlock()
		return nil
	}
	t.mu.Unlock()
	if safeJobID(faxID) {
		if err := os.Remove(filepath.Join(t.p.spoolDir, faxID+".tif")); err != nil && !os.IsNotExist(err) {
			t.p.out.log.Warn("remove spooled fax TIFF", "provider", Name, "fax_id", faxID, "err", err)
		}
	}
	return j
}

// event is the AMI reader's hook: it keeps the events faxgate acts on and
// queues them, so that the reader never waits on the store for long.
func (t *tracker) event(m Message) {
	ev := m.Get("Event")
	switch {
	case strings.EqualFold(ev, "OriginateResponse") && strings.HasPrefix(m.Get("ActionID"), originatePrefix):
	case strings.EqualFold(ev, "UserEvent") && strings.EqualFold(m.Get("UserEvent"), "FaxResult"):
	default:
		return
	}
	select {
	case t.work <- item{msg: m}:
	case <-t.ctx.Done():
	}
}

func (t *tracker) run() {
	defer close(t.done)
	for {
		select {
		case <-t.ctx.Done():
			return
		case it := <-t.work:
			if it.timeoutFax != "" {
				t.timeout(it.timeoutFax, it.gen)
			} else {
				t.handle(it.msg)
			}
		}
	}
}

// handle applies one OriginateResponse or FaxResult event.
func (t *tracker) handle(m Message) {
	if strings.EqualFold(m.Get("Event"), "OriginateResponse") {
		t.originateResponse(m)
		return
	}
	t.faxResult(m)
}

// originateResponse: Success means the call was answered and the dialplan
// runs SendFAX (the fax is sending; the Uniqueid becomes its
// provider_fax_id); Failure ends the fax with the Reason's failure code.
func (t *tracker) originateResponse(m Message) {
	faxID := strings.TrimPrefix(m.Get("ActionID"), originatePrefix)
	if !validID(faxID) {
		return
	}
	uid := uniqueID(m.Get("Uniqueid"))
	u := &fax.Update{
		Provider: Name, Kind: fax.UpdateStatus, EventKey: t.key(faxID) + ":originate",
		FaxID: faxID, ProviderFaxID: uid, OccurredAt: time.Now().UTC(),
	}
	if strings.EqualFold(m.Get("Response"), "Success") {
		t.mu.Lock()
		if j := t.jobs[faxID]; j != nil {
			j.uniqueid = uid
			j.channel = m.Get("Channel")
		}
		t.mu.Unlock()
		u.Status = fax.StatusSending
		t.apply(u)
		return
	}
	reason := strings.TrimSpace(m.Get("Reason"))
	code, msg := failureForReason(reason)
	u.Status = fax.StatusFailed
	u.Failure = &fax.Failure{Code: code, Message: msg, CarrierType: carrierOriginate, CarrierCode: carrier.Clip(reason, 16),
		CarrierMessage: carrier.Clip(strings.TrimSpace(m.Get("Response")+" "+reasonName(reason)), 100)}
	t.end(faxID, 0)
	t.apply(u)
}

// faxResult applies the dialplan's UserEvent(FaxResult,…) after SendFAX.
func (t *tracker) faxResult(m Message) {
	faxID := strings.TrimSpace(m.Get("Job"))
	if !validID(faxID) {
		t.p.out.log.Warn("FaxResult event without a usable Job", "provider", Name)
		return
	}
	uid := uniqueID(m.Get("Uniqueid"))
	key := jobKey(faxID, 0)
	if j := t.end(faxID, 0); j != nil {
		key = j.key
		if j.uniqueid != "" {
			uid = j.uniqueid
		}
	}
	u := &fax.Update{
		Provider: Name, Kind: fax.UpdateStatus, EventKey: key + ":faxresult",
		FaxID: faxID, ProviderFaxID: uid, OccurredAt: time.Now().UTC(),
		Pages: pagesOf(m.Get("Pages")),
		// Optional in the dialplan's event: RemoteStationID=${REMOTESTATIONID},
		// Bitrate=${FAXBITRATE}.
		Details: carrier.Details(m.Get("RemoteStationID"), "", "", m.Get("Bitrate")),
	}
	status := strings.ToUpper(strings.TrimSpace(m.Get("Status")))
	if status == "SUCCESS" {
		u.Status = fax.StatusSent
	} else {
		u.Status = fax.StatusFailed
		errText := carrier.Clip(m.Get("Error"), 200)
		if errText == "" {
			errText = carrier.Clip(m.Get("StatusString"), 200)
		}
		u.Failure = &fax.Failure{Code: fax.FailFax, Message: "The call was answered, but the fax transfer failed.",
			CarrierType: carrierFaxResult, CarrierCode: carrier.Clip(status, 32), CarrierMessage: errText}
	}
	t.apply(u)
}

// timeout fails a fax whose result did not come in time, and hangs up its
// call if Asterisk still has it.
func (t *tracker) timeout(faxID string, gen uint64) {
	j := t.end(faxID, gen)
	if j == nil {
		return
	}
	t.p.out.log.Warn("no result from Asterisk in time; the fax fails", "provider", Name, "fax_id", faxID,
		"timeout", t.p.out.faxTimeout.String())
	if j.channel != "" && t.p.ami != nil {
		ctx, cancel := context.WithTimeout(t.ctx, t.p.out.actionTimeout)
		_, err := t.p.ami.action(ctx, "Hangup", Field{"Channel", j.channel})
		cancel()
		if err != nil {
			t.p.out.log.Debug("hang up a timed-out fax call", "provider", Name, "fax_id", faxID, "err", err)
		}
	}
	t.apply(&fax.Update{
		Provider: Name, Kind: fax.UpdateStatus, EventKey: j.key + ":timeout",
		FaxID: faxID, ProviderFaxID: j.uniqueid, Status: fax.StatusFailed, OccurredAt: time.Now().UTC(),
		Failure: &fax.Failure{Code: fax.FailTimeout,
			Message:     "Asterisk reported no result for the fax in time.",
			CarrierType: "faxgate", CarrierMessage: "no final result within " + t.p.out.faxTimeout.String()},
	})
}

// apply hands an update to Config.Apply, trying again a few times (1 s,
// 2 s, 4 s, 8 s) when the store fails: Asterisk will not send the event
// again.
func (t *tracker) apply(u *fax.Update) {
	log := t.p.out.log.With("provider", Name, "fax_id", u.FaxID, "status", string(u.Status))
	wait := t.applyRetry
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(t.ctx, 30*time.Second)
		res, err := t.p.out.apply(ctx, u)
		cancel()
		if err == nil {
			log.Info("Asterisk result recorded", "applied", res.Applied, "duplicate", res.Duplicate, "stale", res.Stale, "unknown", res.Unknown)
			return
		}
		if attempt >= 5 || t.ctx.Err() != nil {
			log.Error("Asterisk result could not be recorded", "err", err, "attempt", attempt)
			return
		}
		log.Warn("record Asterisk result; trying again", "err", err, "attempt", attempt)
		select {
		case <-time.After(wait):
		case <-t.ctx.Done():
			return
		}
		wait *= 2
	}
}

// failureForReason maps an OriginateResponse failure Reason to faxgate's
// failure code and message.
func failureForReason(reason string) (code, msg string) {
	switch reason {
	case reasonBusy:
		return fax.FailBusy, "The receiving line was busy."
	case reasonNoAnswer:
		return fax.FailNoAnswer, "The receiving number did not answer."
	case reasonCongestion:
		return fax.FailCongestion, "The telephone network was congested."
	}
	return fax.FailLine, "The call could not be placed."
}

func reasonName(reason string) string {
	switch reason {
	case reasonFailure:
		return "(failure)"
	case reasonHangup:
		return "(hangup)"
	case reasonNoAnswer:
		return "(no answer)"
	case reasonAnswered:
		return "(answered)"
	case reasonBusy:
		return "(busy)"
	case reasonCongestion:
		return "(congestion)"
	}
	return "(reason " + carrier.Clip(reason, 16) + ")"
}

// uniqueID returns Asterisk's Uniqueid, or "" for the placeholders it sends
// when a call never got a channel.
func uniqueID(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "<null>") || strings.EqualFold(s, "<unknown>") || !validID(s) {
		return ""
	}
	return s
}

// pagesOf reads ${FAXPAGES}: a count, or empty when nothing was sent.
func pagesOf(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > maxPages {
		return 0
	}
	return n
}
