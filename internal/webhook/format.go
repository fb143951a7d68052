package webhook

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// UserAgent identifies faxgate's deliveries to receivers.
const UserAgent = "faxgate-webhooks/1"

// buildFunc makes the request of one endpoint format for job, sent at now to
// target (the endpoint's URL without its userinfo). The caller adds what every
// format shares: User-Agent and Basic auth. A *fax.Error from a buildFunc is
// permanent: the attempt is recorded and the delivery fails without retries.
//
// doc is the received fax's PDF for a format that carries it (phaxio, for
// fax.received), read by the worker; nil otherwise.
//
// mailto: endpoints are not built here: the worker sends them as email
// whatever their format (see sendEmail).
type buildFunc func(ctx context.Context, job *fax.DeliveryJob, target *url.URL, now time.Time, doc []byte) (*http.Request, error)

// builders maps Endpoint.Format to its request builder; "" is the default
// format. A format not listed here fails its deliveries permanently.
func builders() map[string]buildFunc {
	return map[string]buildFunc{
		"":               buildJSON,
		fax.FormatJSON:   buildJSON,
		fax.FormatPhaxio: buildPhaxio,
		fax.FormatGoFax:  buildGoFax,
	}
}

// buildJSON is the default format: Payload as the body, signed with Standard
// Webhooks headers by every secret active at now. The event id is the
// webhook-id, so it is the same on every attempt and across endpoints, and a
// receiver can use it to drop duplicates.
func buildJSON(ctx context.Context, job *fax.DeliveryJob, target *url.URL, now time.Time, _ []byte) (*http.Request, error) {
	body, err := Payload(job.Event, job.Endpoint.APIVersion)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fax.Errorf(fax.ECodeInvalid, "endpoint URL is not valid")
	}
	req.Header.Set("Content-Type", "application/json")
	if err := SetHeaders(req.Header, job.Endpoint.Secrets(now), job.Event.ID, now, body); err != nil {
		return nil, err
	}
	return req, nil
}
