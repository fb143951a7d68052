package sinch

import (
	"context"
	"fmt"
	"net/http"

	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// Check proves SINCH_PROJECT_ID, SINCH_KEY_ID and SINCH_KEY_SECRET with a
// one-item list of the project's faxes (GET /v3/projects/{project}/faxes?
// pageSize=1), through the same authorisation as a send (Basic or OAuth).
// Errors name the settings to fix and quote Sinch without secrets.
func (p *Provider) Check(ctx context.Context) (string, error) {
	if p.projectID == "" || p.keyID == "" || p.keySecret == "" {
		return "", fmt.Errorf("sinch: cannot check the credentials: set SINCH_PROJECT_ID, SINCH_KEY_ID and SINCH_KEY_SECRET")
	}
	a, err := p.callAPI(ctx, "check", http.MethodGet, p.faxesURL()+"?pageSize=1", nil, "", maxAnswer)
	if err != nil {
		return "", fmt.Errorf("sinch: check: %s", p.clean(err.Error()))
	}
	switch {
	case a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden:
		return "", fmt.Errorf("sinch: Sinch refused the credentials (HTTP %d); check SINCH_KEY_ID, SINCH_KEY_SECRET and SINCH_PROJECT_ID", a.Status)
	case a.Status < 200 || a.Status > 299:
		msg, _ := readError(a.Body)
		return "", fmt.Errorf("sinch: check: HTTP %d %q", a.Status, carrier.Truncate(p.clean(msg), carrier.MaxUserMessage))
	}
	return "faxes listed", nil
}
