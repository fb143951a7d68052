package sinch

import (
	"context"
	"net/http"
	"net/url"
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
