package phaxio

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// findSlack widens Find's window before the fax's creation, for clock skew
// between faxgate and Phaxio.
const findSlack = time.Hour

// Find asks Phaxio whether it already has the fax, after a crash mid-send,
// with GET /faxes?tag[faxgate_id]=<fax id>&direction=sent&created_after=…
// (the window starts an hour before the fax was created: Phaxio's list
// otherwise covers only the last week). found is false only when Phaxio
// answers the filter with an empty list, which makes sending safe; any error
// means nothing is known and the caller must ask again rather than send.
func (p *Provider) Find(ctx context.Context, f *fax.Fax) (providerFaxID string, found bool, err error) {
	if prob := p.SendProblem(); prob != "" {
		return "", false, fmt.Errorf("phaxio: find: cannot ask Phaxio: %s", prob)
	}
	if f == nil || f.ID == "" || !validID(f.ID) {
		return "", false, fmt.Errorf("phaxio: find: the fax has no valid id")
	}
	q := url.Values{}
	q.Set("tag["+TagName+"]", f.ID)
	q.Set("direction", "sent")
	if !f.CreatedAt.IsZero() {
		q.Set("created_after", f.CreatedAt.Add(-findSlack).UTC().Format(time.RFC3339))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL+"/faxes?"+q.Encode(), nil)
	if err != nil {
		return "", false, fmt.Errorf("phaxio: find: build request: %w", err)
	}
	p.prepare(req)
	var sent atomic.Bool
	a, err := carrier.Call(p.client, req, &sent, maxListAnswer)
	if err != nil {
		return "", false, fmt.Errorf("phaxio: find: %w", err)
	}
	if a.Status < 200 || a.Status > 299 {
		msg, _ := readError(a.Body)
		return "", false, fmt.Errorf("phaxio: find: HTTP %d %q", a.Status, carrier.Truncate(p.clean(msg), carrier.MaxUserMessage))
	}
	if a.ReadErr != nil {
		return "", false, fmt.Errorf("phaxio: find: read the answer: %w", a.ReadErr)
	}
	id, found, err := readFindAnswer(a.Body, f.ID)
	if err != nil {
		return "", false, fmt.Errorf("phaxio: find: %w", err)
	}
	return id, found, nil
}

// Cancel asks Phaxio to stop a fax it has (f.ProviderFaxID) with POST
// /faxes/{id}/cancel. Errors carry a *fax.Error for the API user (find it
// with errors.As) beside the cause for logs: not_found when Phaxio does not
// know the id, conflict when it refuses (a fax that already ended, say),
// unavailable when Phaxio cannot be reached, fails or rejects faxgate's
// credentials, so that cancelling again later may work.
func (p *Provider) Cancel(ctx context.Context, f *fax.Fax) error {
	if prob := p.SendProblem(); prob != "" {
		return fax.Errorf(fax.ECodeUnavailable, "Phaxio is not set up on this gateway (%s)", prob)
	}
	if f == nil || f.ProviderFaxID == "" {
		return fax.Errorf(fax.ECodeConflict, "the fax has not reached Phaxio")
	}
	if !validID(f.ProviderFaxID) {
		return fax.Errorf(fax.ECodeInvalid, "the fax's Phaxio id is not valid")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.baseURL+"/faxes/"+url.PathEscape(f.ProviderFaxID)+"/cancel", nil)
	if err != nil {
		return fmt.Errorf("phaxio: cancel: build request: %w", err)
	}
	p.prepare(req)
	var sent atomic.Bool
	a, err := carrier.Call(p.client, req, &sent, maxAnswer)
	if err != nil {
		return fmt.Errorf("phaxio: cancel: %w: %w", fax.Errorf(fax.ECodeUnavailable, "Phaxio could not be reached; try again"), err)
	}
	msg, _ := readError(a.Body)
	msg = p.clean(msg)
	cause := fmt.Errorf("HTTP %d %q", a.Status, carrier.Truncate(msg, carrier.MaxUserMessage))
	switch s := a.Status; {
	case s >= 200 && s <= 299:
		if a.ReadErr != nil {
			return fmt.Errorf("phaxio: cancel: %w: %w", fax.Errorf(fax.ECodeUnavailable, "Phaxio's answer could not be read; try again"), a.ReadErr)
		}
		_, ok, err := readAnswer(a.Body)
		switch {
		case err != nil:
			return fmt.Errorf("phaxio: cancel: %w: %w", fax.Errorf(fax.ECodeUnavailable, "Phaxio's answer could not be read; try again"), err)
		case !ok:
			return fmt.Errorf("phaxio: cancel: %w", fax.Errorf(fax.ECodeConflict, "%s", carrier.UserMessage("Phaxio could not cancel the fax", msg)))
		}
		return nil
	case s == http.StatusUnauthorized:
		return fmt.Errorf("phaxio: cancel: %w: %w", fax.Errorf(fax.ECodeUnavailable, "Phaxio rejected the API credentials; check PHAXIO_API_KEY and PHAXIO_API_SECRET"), cause)
	case s == http.StatusNotFound:
		return fmt.Errorf("phaxio: cancel: %w: %w", fax.Errorf(fax.ECodeNotFound, "Phaxio has no fax %s", f.ProviderFaxID), cause)
	case s >= 400 && s <= 499 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests:
		return fmt.Errorf("phaxio: cancel: %w: %w", fax.Errorf(fax.ECodeConflict, "%s", carrier.UserMessage("Phaxio could not cancel the fax", msg)), cause)
	}
	return fmt.Errorf("phaxio: cancel: %w: %w", fax.Errorf(fax.ECodeUnavailable, "Phaxio did not cancel the fax; try again"), cause)
}
