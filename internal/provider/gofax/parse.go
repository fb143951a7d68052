package gofax

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// maxPages bounds NumberOfPages; a larger count is not a real fax.
const maxPages = 10000

// ParseCallback turns a fax-sent webhook into one status update. FaxID is the
// job_id faxgate put in the CallbackURL (empty for account-level webhooks,
// which the ingest layer matches by ProviderFaxID). Recipient and Subject are
// read by nobody: faxgate already knows the fax's number, and a malformed
// Recipient must not lose a final status.
func (p *Provider) ParseCallback(r *http.Request, body []byte) ([]fax.Update, error) {
	f, err := readForm(r, body)
	if err != nil {
		return nil, err
	}
	id, ok, msg, err := f.sentFields()
	if err != nil {
		return nil, err
	}
	jobID, err := f.id("job_id", false)
	if err != nil {
		return nil, err
	}
	u := fax.Update{
		Provider:      Name,
		Kind:          fax.UpdateStatus,
		EventKey:      scopedKey("gofax:fax:"+id+":"+strconv.FormatBool(ok), jobID),
		FaxID:         jobID,
		ProviderFaxID: id,
		Status:        fax.StatusSent,
	}
	if !ok {
		code := failureCode(msg)
		u.Status = fax.StatusFailed
		u.Failure = &fax.Failure{Code: code, Message: carrier.FailureMessage(code, "GoFax reported the fax as not sent."), CarrierMessage: msg}
	}
	return []fax.Update{u}, nil
}

// ParseSMSCallback turns an SMS-sent webhook into one SMS update (Status sent
// or failed). GoFax's SMS messages say nothing a fax failure code could
// describe, so a failure is always carrier_error with GoFax's own words.
func (p *Provider) ParseSMSCallback(r *http.Request, body []byte) ([]fax.Update, error) {
	f, err := readForm(r, body)
	if err != nil {
		return nil, err
	}
	id, ok, msg, err := f.sentFields()
	if err != nil {
		return nil, err
	}
	jobID, err := f.id("job_id", false)
	if err != nil {
		return nil, err
	}
	u := fax.Update{
		Provider:      Name,
		Kind:          fax.UpdateSMS,
		EventKey:      scopedKey("gofax:sms:"+id+":"+strconv.FormatBool(ok), jobID),
		FaxID:         jobID,
		ProviderFaxID: id,
		Status:        fax.StatusSent,
	}
	if !ok {
		u.Status = fax.StatusFailed
		u.Failure = &fax.Failure{
			Code:           fax.FailCarrier,
			Message:        "GoFax reported the SMS as not delivered.",
			CarrierMessage: msg,
		}
	}
	return []fax.Update{u}, nil
}

// scopedKey scopes an event key to the job_id a callback came for. A
// per-fax token vouches for that job only, so the event it carries must
// never share a key with the event GoFax sends for another fax: holding
// one fax's token would otherwise let anyone mark another's event seen.
func scopedKey(key, jobID string) string {
	if jobID == "" {
		return key
	}
	return key + ":job=" + jobID
}

// sentFields reads the fields the fax-sent and SMS-sent webhooks share: ID
// and Success (required) and Message.
func (f form) sentFields() (id string, ok bool, msg string, err error) {
	if id, err = f.id("ID", true); err != nil {
		return "", false, "", err
	}
	s, err := f.required("Success")
	if err != nil {
		return "", false, "", err
	}
	switch {
	case strings.EqualFold(s, "true"):
		ok = true
	case strings.EqualFold(s, "false"):
	default:
		return "", false, "", fax.Errorf(fax.ECodeInvalid, "field Success must be True or False")
	}
	if msg, err = f.get("Message"); err != nil {
		return "", false, "", err
	}
	return id, ok, carrier.Clip(msg, maxMsgLen), nil
}

// ParseInbound turns a fax-received webhook into one inbound update whose
// document is fetched later through FileRequest (Document.FetchID).
// Message COMPLETE is received and INCOMPLETE partial; an INCOMPLETE fax that
// reports zero pages has no document to fetch. From is the caller's line id
// (SenderISDNID) or else the station id (SenderFaxID) when either is a
// number; a TSID is free text, so neither being a number leaves From empty
// rather than refusing the fax. SenderFaxID, SenderISDNID as given,
// TransmissionTime and TransmissionSpeed are kept as the call's details
// (carrier.Details: one that cannot be read is left unknown).
func (p *Provider) ParseInbound(r *http.Request, body []byte) ([]fax.Update, error) {
	f, err := readForm(r, body)
	if err != nil {
		return nil, err
	}
	id, err := f.id("FaxID", true)
	if err != nil {
		return nil, err
	}
	num, err := f.required("Number")
	if err != nil {
		return nil, err
	}
	to, err := fax.ParseLooseNumber(num)
	if err != nil {
		return nil, fax.Errorf(fax.ECodeInvalid, "field Number: %s", fax.ErrorMessage(err))
	}
	msg, err := f.required("Message")
	if err != nil {
		return nil, err
	}
	var status fax.Status
	switch {
	case strings.EqualFold(msg, "COMPLETE"):
		status = fax.StatusReceived
	case strings.EqualFold(msg, "INCOMPLETE"):
		status = fax.StatusPartial
	default:
		return nil, fax.Errorf(fax.ECodeInvalid, "field Message must be COMPLETE or INCOMPLETE")
	}
	pagesText, err := f.get("NumberOfPages")
	if err != nil {
		return nil, err
	}
	pages := 0
	if pagesText != "" {
		pages, err = strconv.Atoi(pagesText)
		if err != nil || pages < 0 || pages > maxPages {
			return nil, fax.Errorf(fax.ECodeInvalid, "field NumberOfPages must be a whole number from 0 to %d", maxPages)
		}
	}
	isdn, err := f.get("SenderISDNID")
	if err != nil {
		return nil, err
	}
	tsid, err := f.get("SenderFaxID")
	if err != nil {
		return nil, err
	}
	// Details never refuse a fax: conflicting copies leave one unknown.
	took, _ := f.get("TransmissionTime")
	speed, _ := f.get("TransmissionSpeed")
	from := looseNumber(isdn, tsid)
	u := fax.Update{
		Provider:      Name,
		Kind:          fax.UpdateInbound,
		EventKey:      "gofax:in:" + id,
		ProviderFaxID: id,
		Status:        status,
		Pages:         pages,
		From:          from,
		To:            string(to),
		Details:       carrier.Details(tsid, carrier.CallerID(isdn, from), took, speed),
	}
	if status == fax.StatusPartial && pagesText != "" && pages == 0 {
		u.Failure = &fax.Failure{Code: fax.FailReception, CarrierMessage: carrier.Clip(msg, maxMsgLen),
			Message: "GoFax reported the reception as incomplete with no pages; there is no document."}
	} else {
		u.Document = &fax.InboundDocument{FetchID: id}
	}
	return []fax.Update{u}, nil
}

// looseNumber returns the first candidate that is a number, normalised, or
// "" when none is.
func looseNumber(candidates ...string) string {
	for _, c := range candidates {
		if n, err := fax.ParseLooseNumber(c); err == nil {
			return string(n)
		}
	}
	return ""
}

// failureCode guesses faxgate's failure code from GoFax's human-readable
// Message, which is all a GoFax fax-sent webhook says about a failure. The
// keywords are the wording fax carriers commonly use; anything unrecognised
// is carrier_error, and the carrier's words are always kept beside the code.
func failureCode(msg string) string {
	m := strings.ToLower(msg)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(m, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("busy", "engaged"):
		return fax.FailBusy
	case has("no answer", "not answer", "unanswered", "no user responding", "ring timeout", "ring time out", "rang out", "no response"):
		return fax.FailNoAnswer
	case has("congest"):
		return fax.FailCongestion
	case has("unallocated", "not in service", "not operational", "invalid number", "invalid fax number",
		"number changed", "no longer in use", "is disconnected", "unreachable", "does not exist", "barred"):
		return fax.FailNotOperational
	case has("cancel"):
		return fax.FailCanceled
	case has("convert", "conversion", "document", "render", "file"):
		return fax.FailDocument
	case has("no fax", "not a fax", "fax machine", "fax tone", "fax device", "voice", "human", "answering machine",
		"handshake", "negotiat", "dis/dtc", "comrec", "dcn", "t.30", "modem"):
		return fax.FailFax
	case has("timeout", "timed out", "time out"):
		return fax.FailTimeout
	case has("line error", "line noise", "bad line", "poor line", "noise", "transmission error", "call dropped",
		"hung up", "disconnected", "interrupted"):
		return fax.FailLine
	}
	return fax.FailCarrier
}
