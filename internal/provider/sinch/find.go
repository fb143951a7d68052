package sinch

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// errUnprovable is Find's answer when Sinch does not list the fax: its list
// has no documented filter by label and covers only recent faxes, so the
// fax's absence cannot be proven.
const errUnprovable = constError("Sinch lists no fax labelled with this fax's id among its recent faxes to this number, which does not prove it never got the fax")

// Find asks Sinch whether it already has the fax, after a crash mid-send,
// by listing recent outbound faxes to the fax's number (GET
// /v3/projects/{project}/faxes?direction=OUTBOUND&to=…&pageSize=1000) and
// looking for the faxgate_id label or the fax's callback URL.
//
// Sinch's API cannot prove that it does not have a fax: its list has no
// documented label filter and covers only about the last week. So Find
// never reports found=false; a fax Sinch does not list gives an error, the
// dispatcher leaves the fax unresolved and asks again at the next resume,
// and it never sends twice. An operator resolves such a fax by cancelling
// it in faxgate (after checking Sinch's dashboard) and sending it anew.
func (p *Provider) Find(ctx context.Context, f *fax.Fax) (providerFaxID string, found bool, err error) {
	if prob := p.SendProblem(); prob != "" {
		return "", false, fmt.Errorf("sinch: find: cannot ask Sinch: %s", prob)
	}
	if f == nil || f.ID == "" || !validID(f.ID) || f.To == "" {
		return "", false, fmt.Errorf("sinch: find: the fax has no valid id or number")
	}
	q := url.Values{}
	q.Set("direction", "OUTBOUND")
	q.Set("to", f.To)
	q.Set("pageSize", "1000")
	a, err := p.callAPI(ctx, "find", http.MethodGet, p.faxesURL()+"?"+q.Encode(), nil, "", maxListAnswer)
	if err != nil {
		return "", false, err
	}
	if a.Status < 200 || a.Status > 299 {
		msg, _ := readError(a.Body)
		return "", false, fmt.Errorf("sinch: find: HTTP %d %q", a.Status, carrier.Truncate(p.clean(msg), carrier.MaxUserMessage))
	}
	if a.ReadErr != nil {
		return "", false, fmt.Errorf("sinch: find: read the answer: %w", a.ReadErr)
	}
	id, found, err := readFindAnswer(a.Body, f.ID)
	switch {
	case err != nil:
		return "", false, fmt.Errorf("sinch: find: %w", err)
	case !found:
		return "", false, fmt.Errorf("sinch: find: %w", errUnprovable)
	}
	return id, true, nil
}

// Cancel refuses: Sinch's Fax API has no way to stop a fax it has accepted.
// The error is a *fax.Error with code conflict.
func (p *Provider) Cancel(ctx context.Context, f *fax.Fax) error {
	return fax.Errorf(fax.ECodeConflict, "Sinch cannot cancel a fax it has accepted")
}
