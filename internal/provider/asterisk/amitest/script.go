package amitest

import (
	"strconv"
	"sync"
)

// OriginateResponse Reason codes a script may report (Asterisk's
// AST_CONTROL_* values).
const (
	ReasonFailure    = "0"
	ReasonHangup     = "1"
	ReasonNoAnswer   = "3" // rang, never answered
	ReasonAnswered   = "4"
	ReasonBusy       = "5"
	ReasonCongestion = "8"
)

// Queued answers an Originate as Asterisk does when it queued the call, and
// says nothing more: the call neither fails nor reports a result.
func Queued(c *Conn, a Action) {
	c.Send("Response", "Success", "ActionID", a.Get("ActionID"), "Message", "Originate successfully queued")
}

// OriginateResponse sends the OriginateResponse event for a: response is
// Success or Failure, reason a Reason code, uid the call's Uniqueid
// ("<null>" or "" when no channel came up).
func OriginateResponse(c *Conn, a Action, response, reason, uid string) {
	c.Send("Event", "OriginateResponse", "Privilege", "call,all", "ActionID", a.Get("ActionID"),
		"Response", response, "Channel", ChannelName, "Context", a.Get("Context"), "Exten", a.Get("Exten"),
		"Application", "", "Data", "", "Reason", reason, "Uniqueid", uid, "CallerIDNum", "<unknown>", "CallerIDName", "<unknown>")
}

// FaxResult sends the UserEvent(FaxResult,…) that faxgate's dialplan
// raises after SendFAX for job (the call's FAXGATE_JOB): status is
// ${FAXSTATUS} (SUCCESS or FAILURE), errText ${FAXERROR}, pages
// ${FAXPAGES}.
func FaxResult(c *Conn, job, status, errText, pages, uid string) {
	c.Send("Event", "UserEvent", "Privilege", "user,all", "Channel", ChannelName,
		"ChannelState", "6", "ChannelStateDesc", "Up", "Uniqueid", uid, "Linkedid", uid,
		"UserEvent", "FaxResult", "Job", job, "Status", status, "Error", errText, "Pages", pages)
}

// Answered is a call that is queued, answered (OriginateResponse Success,
// Reason 4, Uniqueid uid) and then reports the dialplan's FaxResult with
// status (SUCCESS or FAILURE), errText and pages for the Originate's
// FAXGATE_JOB.
func Answered(uid, status, errText string, pages int) Reply {
	return func(c *Conn, a Action) {
		Queued(c, a)
		OriginateResponse(c, a, "Success", ReasonAnswered, uid)
		FaxResult(c, a.Variable("FAXGATE_JOB"), status, errText, strconv.Itoa(pages), uid)
	}
}

// AnsweredOnly is a call that is queued and answered, after which nothing
// more is heard: the fax is sending until something ends it.
func AnsweredOnly(uid string) Reply {
	return func(c *Conn, a Action) {
		Queued(c, a)
		OriginateResponse(c, a, "Success", ReasonAnswered, uid)
	}
}

// Unanswered is a call that is queued and then fails with reason (busy,
// not answered, congestion, …), without a channel and without a
// FaxResult, as Asterisk reports a call that never connected.
func Unanswered(reason string) Reply {
	return func(c *Conn, a Action) {
		Queued(c, a)
		OriginateResponse(c, a, "Failure", reason, "<null>")
	}
}

// Refused answers the Originate with "Response: Error" and message, as
// Asterisk does when it cannot queue the call.
func Refused(message string) Reply {
	return func(c *Conn, a Action) {
		c.Send("Response", "Error", "ActionID", a.Get("ActionID"), "Message", message)
	}
}

// Drop closes the connection instead of answering, after the Originate was
// received.
func Drop(c *Conn, a Action) { c.Close() }

// Sequence answers the Originates with replies in turn; the last one
// answers every Originate after it. Without replies it is Queued.
func Sequence(replies ...Reply) Reply {
	if len(replies) == 0 {
		return Queued
	}
	var mu sync.Mutex
	n := 0
	return func(c *Conn, a Action) {
		mu.Lock()
		r := replies[min(n, len(replies)-1)]
		n++
		mu.Unlock()
		r(c, a)
	}
}
