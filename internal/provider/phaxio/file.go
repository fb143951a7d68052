package phaxio

import (
	"context"
	"net/http"
	"net/url"

	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// FileRequest builds the API request for a fax's PDF (GET /faxes/{id}/file),
// authenticated with the API key and current secret. The caller runs it
// with its own outbound-safe client and limits.
func (p *Provider) FileRequest(ctx context.Context, faxID string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL+"/faxes/"+url.PathEscape(faxID)+"/file", nil)
	if err != nil {
		return nil, err
	}
	p.Authorize(req)
	return req, nil
}

// Authorize adds Phaxio's API credentials to req. Call it only for URLs on
// Phaxio's own hosts.
func (p *Provider) Authorize(req *http.Request) {
	if p.apiKey != "" && len(p.secrets) > 0 {
		req.SetBasicAuth(p.apiKey, string(p.secrets[0]))
	}
}

// AuthorizeFileURL adds Phaxio's API credentials to req when its host is
// one of PHAXIO_FILE_HOSTS, and reports whether it is: a webhook must not
// make faxgate fetch, let alone with credentials, any other address.
func (p *Provider) AuthorizeFileURL(req *http.Request) bool {
	if !carrier.HostAllowed(req.URL.Hostname(), p.fileHosts) {
		return false
	}
	p.Authorize(req)
	return true
}

// Credentials names Phaxio in fetch errors, with the settings its API
// credentials come from.
func (p *Provider) Credentials() (name, settings string) {
	return "Phaxio", "PHAXIO_API_KEY and PHAXIO_API_SECRET"
}
