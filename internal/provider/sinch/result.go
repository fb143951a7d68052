package sinch

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// CheckResult asks Sinch for the result of a fax it has (f.ProviderFaxID)
// with GET /v3/projects/{project}/faxes/{id}, for a fax whose FAX_COMPLETED
// callback never came. It returns the update that callback would have
// given (same event key, so a late callback is a duplicate), or nil while
// Sinch has no final status.
func (p *Provider) CheckResult(ctx context.Context, f *fax.Fax) (*fax.Update, error) {
	if prob := p.SendProblem(); prob != "" {
		return nil, fmt.Errorf("sinch: check result: cannot ask Sinch: %s", prob)
	}
	if f == nil || f.ProviderFaxID == "" || !validID(f.ProviderFaxID) || !validID(f.ID) {
		return nil, fmt.Errorf("sinch: check result: the fax has no valid Sinch id")
	}
	a, err := p.callAPI(ctx, "check result", http.MethodGet, p.faxesURL()+"/"+url.PathEscape(f.ProviderFaxID), nil, "", maxAnswer)
	if err != nil {
		return nil, err
	}
	if a.Status < 200 || a.Status > 299 {
		msg, _ := readError(a.Body)
		return nil, fmt.Errorf("sinch: check result: HTTP %d %q", a.Status, carrier.Truncate(p.clean(msg), carrier.MaxUserMessage))
	}
	if a.ReadErr != nil {
		return nil, fmt.Errorf("sinch: check result: read the answer: %w", a.ReadErr)
	}
	return readResult(a.Body, f.ID, f.ProviderFaxID)
}

// readResult reads Sinch's Fax object. A fax in a final status gives the
// update FAX_COMPLETED would give.
func readResult(body []byte, faxID, providerFaxID string) (*fax.Update, error) {
	ev := &wireEvent{}
	if err := jsonObject(body, &ev.Fax); err != nil {
		return nil, fmt.Errorf("sinch: check result: %w", err)
	}
	if id := ev.Fax.ID.String(); id != providerFaxID {
		return nil, fmt.Errorf("sinch: check result: Sinch returned another fax")
	}
	u, status, err := ev.update(faxID)
	if err != nil {
		return nil, fmt.Errorf("sinch: check result: %w", err)
	}
	st, ok := outboundStatus(status)
	if !ok || !st.Final() {
		return nil, nil
	}
	u.Kind, u.Status = fax.UpdateStatus, st
	if st == fax.StatusFailed {
		u.Failure = ev.failure()
	}
	u.EventKey = eventKey(providerFaxID, eventCompleted, status)
	return &u, nil
}
