package workflow

import (
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// ReceivePending makes the received fax of an inbound update whose document
// is still to be fetched from the carrier: listed at once, with
// document_status pending and the inflight fax.receiving event, so that
// staff learn of it while the carrier's document API is down. fax.received
// follows when Settle settles the document.
func ReceivePending(ids *fax.IDGen, u *fax.Update, now time.Time) (*fax.Fax, Change, error) {
	st := u.Status
	if st != fax.StatusPartial {
		st = fax.StatusReceived
	}
	t := now
	f := &fax.Fax{
		ID: ids.New(fax.PrefixFax, t), Direction: fax.Inbound, Status: st, To: u.To, From: u.From,
		Provider: u.Provider, ProviderFaxID: u.ProviderFaxID, Pages: u.Pages, PagesSent: u.Pages, Failure: u.Failure,
		DocumentStatus: fax.DocumentPending, Details: u.Details, CreatedAt: t, UpdatedAt: t, CompletedAt: &t,
	}
	evs, err := Events(ids, f, []fax.EventSpec{{Type: fax.EventFaxReceiving}}, t)
	if err != nil {
		return nil, Change{}, err
	}
	c := Change{Result: fax.ApplyResult{FaxID: f.ID}}
	c.applied(evs)
	return f, c, nil
}

// Settle decides what the end of a document fetch does to f, the received
// fax ReceivePending made: u.Document with a stored Key attaches the
// document (available); u without one (its Failure saying why) leaves the
// fax without (unavailable), and partial, the status of an incomplete
// reception, as it was recorded before faxes were listed at once. Either
// way fax.received goes out now. A document status never moves back: a fax
// no longer pending is stale, so a late fetch or a repeated richer webhook
// changes nothing.
func Settle(ids *fax.IDGen, f *fax.Fax, u *fax.Update, now time.Time) (Change, error) {
	c := Change{Result: fax.ApplyResult{FaxID: f.ID}}
	if f.Direction != fax.Inbound || f.DocumentStatus != fax.DocumentPending {
		c.Outcome, c.Result.Stale = Stale, true
		return c, nil
	}
	if d := u.Document; d != nil && d.Key != "" {
		f.DocumentStatus, f.DocumentError = fax.DocumentAvailable, ""
		f.DocumentKey, f.DocumentType, f.DocumentSize, f.DocumentSHA256 = d.Key, "application/pdf", d.Size, d.SHA256
		if u.Pages > 0 {
			f.Pages, f.PagesSent = u.Pages, u.Pages
		}
	} else {
		f.DocumentStatus = fax.DocumentUnavailable
		f.DocumentError = "the document could not be fetched"
		if u.Failure != nil {
			f.DocumentError = u.Failure.Message
			f.Failure = u.Failure
		}
		if u.Status == fax.StatusPartial {
			f.Status = fax.StatusPartial
		}
	}
	MergeDetails(&f.Details, u.Details)
	f.UpdatedAt = now
	evs, err := Events(ids, f, []fax.EventSpec{{Type: fax.EventFaxReceived}}, now)
	if err != nil {
		return Change{}, err
	}
	c.applied(evs)
	return c, nil
}

// DocumentDeleted is the document_error of a received fax whose document
// was deleted (by request or retention). Deleting it settles a pending one
// too, so that a fetch ending later attaches nothing (Settle finds it no
// longer pending): what was asked to be deleted is not stored again.
const DocumentDeleted = "the document was deleted"

// DeleteDocument records in f that its document was deleted (by request
// or retention) and reports whether that is news. A received fax's
// document becomes unavailable, DocumentDeleted saying why.
func DeleteDocument(f *fax.Fax, now time.Time) bool {
	if f.DocumentPurged {
		return false
	}
	f.DocumentPurged, f.UpdatedAt = true, now
	if f.Direction == fax.Inbound {
		f.DocumentStatus, f.DocumentError = fax.DocumentUnavailable, DocumentDeleted
	}
	return true
}

// SettlesPending reports whether u, an inbound update whose carrier event
// was seen before, may settle the pending fax of that event: only when it
// brings the document itself (a richer webhook for the same reception).
func SettlesPending(u *fax.Update) bool {
	return u.Kind == fax.UpdateInbound && u.Document != nil && u.Document.Key != ""
}
