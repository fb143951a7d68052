package sinch

import (
	"context"
	"net/http"
	"net/url"

	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// FileRequest builds the API request for a fax's PDF
// (GET /v3/projects/{project}/faxes/{id}/file, Accept: application/pdf),
// authenticated with the access key. The caller runs it with its own
// outbound-safe client and limits.
func (p *Provider) FileRequest(ctx context.Context, faxID string) (*http.Request, error) {
	u := p.baseURL + "/v3/projects/" + url.PathEscape(p.projectID) + "/faxes/" + url.PathEscape(faxID) + "/file"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/pdf")
	p.Authorize(req)
	return req, nil
}

// Authorize adds Sinch's access key to req. Call it only for URLs on
// Sinch's own hosts.
func (p *Provider) Authorize(req *http.Request) {
	if p.keyID != "" && p.keySecret != "" {
		req.SetBasicAuth(p.keyID, p.keySecret)
	}
}

// AuthorizeFileURL adds Sinch's access key to req when its host is one of
// SINCH_FILE_HOSTS, and reports whether it is: a webhook must not make
// faxgate fetch, let alone with credentials, any other address.
func (p *Provider) AuthorizeFileURL(req *http.Request) bool {
	if !carrier.HostAllowed(req.URL.Hostname(), p.fileHosts) {
		return false
	}
	p.Authorize(req)
	return true
}

// Credentials names Sinch in fetch errors, with the settings its API
// credentials come from.
func (p *Provider) Credentials() (name, settings string) {
	return "Sinch", "SINCH_KEY_ID and SINCH_KEY_SECRET"
}
