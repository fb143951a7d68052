package phaxio

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// CheckResult asks Phaxio for the result of a fax it has (f.ProviderFaxID)
// with GET /faxes/{id}, for a fax whose fax_completed callback never came.
// It returns the update that callback would have given (same event key, so
// a late callback is a duplicate), or nil while Phaxio has no final status.
func (p *Provider) CheckResult(ctx context.Context, f *fax.Fax) (*fax.Update, error) {
	if prob := p.SendProblem(); prob != "" {
		return nil, fmt.Errorf("phaxio: check result: cannot ask Phaxio: %s", prob)
	}
	if f == nil || f.ProviderFaxID == "" || !validID(f.ProviderFaxID) || !validID(f.ID) {
		return nil, fmt.Errorf("phaxio: check result: the fax has no valid Phaxio id")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL+"/faxes/"+url.PathEscape(f.ProviderFaxID), nil)
	if err != nil {
		return nil, fmt.Errorf("phaxio: check result: build request: %w", err)
	}
	p.prepare(req)
	var sent atomic.Bool
	a, err := carrier.Call(p.client, req, &sent, maxAnswer)
	if err != nil {
		return nil, fmt.Errorf("phaxio: check result: %w", err)
	}
	if a.Status < 200 || a.Status > 299 {
		msg, _ := readError(a.Body)
		return nil, fmt.Errorf("phaxio: check result: HTTP %d %q", a.Status, carrier.Truncate(p.clean(msg), carrier.MaxUserMessage))
	}
	if a.ReadErr != nil {
		return nil, fmt.Errorf("phaxio: check result: read the answer: %w", a.ReadErr)
	}
	return readResult(a.Body, f.ID, f.ProviderFaxID)
}

// readResult reads Phaxio's answer to GET /faxes/{id}: the fax object in
// data. A fax in a final status gives the update fax_completed would give.
func readResult(body []byte, faxID, providerFaxID string) (*fax.Update, error) {
	a, ok, err := readAnswer(body)
	if err != nil {
		return nil, fmt.Errorf("phaxio: check result: %w", err)
	}
	if !ok || len(bytes.TrimSpace(a.Data)) == 0 {
		return nil, fmt.Errorf("phaxio: check result: Phaxio did not return the fax")
	}
	ev := &wireEvent{}
	if err := decodeFax(a.Data, &ev.Fax); err != nil {
		return nil, fmt.Errorf("phaxio: check result: the fax object is not readable")
	}
	if id := ev.Fax.ID.String(); id != "" && id != providerFaxID {
		return nil, fmt.Errorf("phaxio: check result: Phaxio returned another fax")
	}
	status := ev.status()
	st, ok := outboundStatus(status)
	if !ok || !st.Final() {
		return nil, nil
	}
	u := &fax.Update{Provider: Name, Kind: fax.UpdateStatus, FaxID: faxID, ProviderFaxID: providerFaxID, Status: st,
		OccurredAt: parseTime(ev.Fax.CompletedAt.String())}
	if n, err := count("fax.num_pages", ev.Fax.NumPages.String(), false, 0); err == nil {
		u.Pages = n
	}
	if st == fax.StatusFailed {
		u.Failure = ev.failure(true)
	}
	u.EventKey = eventKey(providerFaxID, eventCompleted, status, 0, 0)
	return u, nil
}
