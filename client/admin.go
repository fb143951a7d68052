package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// EndpointCreate is a new webhook endpoint; only URL is required.
type EndpointCreate struct {
	URL         string   `json:"url"`
	Events      []string `json:"events,omitempty"`
	Inflight    bool     `json:"inflight,omitempty"`
	Format      string   `json:"format,omitempty"`
	Numbers     []string `json:"numbers,omitempty"`
	Description string   `json:"description,omitempty"`
	APIVersion  string   `json:"api_version,omitempty"`
}

// EndpointUpdate changes the fields that are not nil.
type EndpointUpdate struct {
	URL         *string   `json:"url,omitempty"`
	Events      *[]string `json:"events,omitempty"`
	Inflight    *bool     `json:"inflight,omitempty"`
	Format      *string   `json:"format,omitempty"`
	Numbers     *[]string `json:"numbers,omitempty"`
	Description *string   `json:"description,omitempty"`
	APIVersion  *string   `json:"api_version,omitempty"`
	Enabled     *bool     `json:"enabled,omitempty"`
}

// CreateEndpoint registers a webhook endpoint; the answer carries its
// signing secret, shown this once.
func (c *Client) CreateEndpoint(ctx context.Context, e EndpointCreate) (*Endpoint, error) {
	var out Endpoint
	if err := c.postJSON(ctx, "/v1/webhook-endpoints", e, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListEndpoints returns one page of webhook endpoints.
func (c *Client) ListEndpoints(ctx context.Context, limit int, cursor string) (*Page[Endpoint], error) {
	q := url.Values{}
	setInt(q, "limit", limit)
	set(q, "cursor", cursor)
	var out Page[Endpoint]
	if err := c.get(ctx, "/v1/webhook-endpoints", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Endpoints iterates over every webhook endpoint.
func (c *Client) Endpoints(ctx context.Context) iter.Seq2[Endpoint, error] {
	return all("", func(cursor string) (*Page[Endpoint], error) { return c.ListEndpoints(ctx, 0, cursor) })
}

// GetEndpoint returns one webhook endpoint, without its secret.
func (c *Client) GetEndpoint(ctx context.Context, id string) (*Endpoint, error) {
	var out Endpoint
	if err := c.get(ctx, "/v1/webhook-endpoints/"+escape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateEndpoint changes a webhook endpoint.
func (c *Client) UpdateEndpoint(ctx context.Context, id string, u EndpointUpdate) (*Endpoint, error) {
	r, err := jsonRequest(http.MethodPatch, "/v1/webhook-endpoints/"+escape(id), u)
	if err != nil {
		return nil, err
	}
	var out Endpoint
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteEndpoint removes a webhook endpoint.
func (c *Client) DeleteEndpoint(ctx context.Context, id string) error {
	return c.do(ctx, &request{method: http.MethodDelete, path: "/v1/webhook-endpoints/" + escape(id)}, nil)
}

// RotateEndpointSecret gives the endpoint a new secret, returned in the
// answer; the old one keeps signing beside it for overlap (0: the
// gateway's default; negative: stop at once).
func (c *Client) RotateEndpointSecret(ctx context.Context, id string, overlap time.Duration) (*Endpoint, error) {
	body := map[string]string{}
	switch {
	case overlap > 0:
		body["overlap"] = overlap.String()
	case overlap < 0:
		body["overlap"] = "0s"
	}
	var out Endpoint
	if err := c.postJSON(ctx, "/v1/webhook-endpoints/"+escape(id)+"/rotate-secret", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TestEndpoint sends a webhook.test event to the endpoint.
func (c *Client) TestEndpoint(ctx context.Context, id string) (*Delivery, error) {
	var out Delivery
	if err := c.postJSON(ctx, "/v1/webhook-endpoints/"+escape(id)+"/test", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RetryFailedDeliveries delivers again every failed delivery to the
// endpoint created since since, and says how many.
func (c *Client) RetryFailedDeliveries(ctx context.Context, endpointID string, since time.Time) (int, error) {
	var out struct {
		Retried int `json:"retried"`
	}
	body := map[string]string{"since": since.UTC().Format(time.RFC3339)}
	if err := c.postJSON(ctx, "/v1/webhook-endpoints/"+escape(endpointID)+"/retry-failed", body, &out); err != nil {
		return 0, err
	}
	return out.Retried, nil
}

// CallbackSecret returns the secret that signs deliveries to faxes' own
// callback_url.
func (c *Client) CallbackSecret(ctx context.Context) (string, error) {
	var out struct {
		Secret string `json:"secret"`
	}
	if err := c.get(ctx, "/v1/callback-secret", nil, &out); err != nil {
		return "", err
	}
	return out.Secret, nil
}

// DeliveryListParams filters the delivery log; zero fields do not filter.
type DeliveryListParams struct {
	EndpointID string
	EventID    string
	EventType  string // fax.sent, fax.failed, …
	FaxID      string
	Status     string // pending, succeeded or failed
	Since      time.Time
	Until      time.Time
	Limit      int
	Cursor     string
}

// ListDeliveries returns one page of the delivery log.
func (c *Client) ListDeliveries(ctx context.Context, p DeliveryListParams) (*Page[Delivery], error) {
	q := url.Values{}
	set(q, "endpoint_id", p.EndpointID)
	set(q, "event_id", p.EventID)
	set(q, "event_type", p.EventType)
	set(q, "fax_id", p.FaxID)
	set(q, "status", p.Status)
	setTime(q, "since", p.Since)
	setTime(q, "until", p.Until)
	setInt(q, "limit", p.Limit)
	set(q, "cursor", p.Cursor)
	var out Page[Delivery]
	if err := c.get(ctx, "/v1/deliveries", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Deliveries iterates over every delivery matching p.
func (c *Client) Deliveries(ctx context.Context, p DeliveryListParams) iter.Seq2[Delivery, error] {
	return all(p.Cursor, func(cursor string) (*Page[Delivery], error) {
		p.Cursor = cursor
		return c.ListDeliveries(ctx, p)
	})
}

// GetDelivery returns a delivery with its attempts.
func (c *Client) GetDelivery(ctx context.Context, id string) (*Delivery, error) {
	var out Delivery
	if err := c.get(ctx, "/v1/deliveries/"+escape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RetryDelivery delivers the event again now.
func (c *Client) RetryDelivery(ctx context.Context, id string) (*Delivery, error) {
	var out Delivery
	if err := c.postJSON(ctx, "/v1/deliveries/"+escape(id)+"/retry", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SendSMS sends a text message (through GoFax, where it is configured).
func (c *Client) SendSMS(ctx context.Context, to, text string) (*SMS, error) {
	var out SMS
	if err := c.postJSON(ctx, "/v1/sms", map[string]string{"to": to, "text": text}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSMS returns one text message.
func (c *Client) GetSMS(ctx context.Context, id string) (*SMS, error) {
	var out SMS
	if err := c.get(ctx, "/v1/sms/"+escape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AuditListParams filters the audit trail; zero fields do not filter.
type AuditListParams struct {
	Action   string // e.g. fax.send
	Actor    string // an API key id
	TargetID string
	Since    time.Time
	Until    time.Time
	Limit    int
	Cursor   string
}

// ListAudit returns one page of the audit trail.
func (c *Client) ListAudit(ctx context.Context, p AuditListParams) (*Page[AuditEntry], error) {
	q := url.Values{}
	set(q, "action", p.Action)
	set(q, "actor", p.Actor)
	set(q, "target_id", p.TargetID)
	setTime(q, "since", p.Since)
	setTime(q, "until", p.Until)
	setInt(q, "limit", p.Limit)
	set(q, "cursor", p.Cursor)
	var out Page[AuditEntry]
	if err := c.get(ctx, "/v1/audit", q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Audit iterates over every audit entry matching p.
func (c *Client) Audit(ctx context.Context, p AuditListParams) iter.Seq2[AuditEntry, error] {
	return all(p.Cursor, func(cursor string) (*Page[AuditEntry], error) {
		p.Cursor = cursor
		return c.ListAudit(ctx, p)
	})
}

// CreateAPIKey makes an API key with some of the caller's scopes; the
// answer's Key is shown this once.
func (c *Client) CreateAPIKey(ctx context.Context, name string, scopes []string) (*APIKey, error) {
	var out APIKey
	if err := c.postJSON(ctx, "/v1/api-keys", map[string]any{"name": name, "scopes": scopes}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAPIKeys returns every API key, without the keys themselves.
func (c *Client) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	var out Page[APIKey]
	if err := c.get(ctx, "/v1/api-keys", nil, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// DeleteAPIKey revokes an API key.
func (c *Client) DeleteAPIKey(ctx context.Context, id string) error {
	return c.do(ctx, &request{method: http.MethodDelete, path: "/v1/api-keys/" + escape(id)}, nil)
}

// Health reports whether the gateway answers (GET /healthz).
func (c *Client) Health(ctx context.Context) error { return c.get(ctx, "/healthz", nil, nil) }

// Ready reports whether the gateway's database answers (GET /readyz).
func (c *Client) Ready(ctx context.Context) error { return c.get(ctx, "/readyz", nil, nil) }

// OpenAPI returns the gateway's OpenAPI document.
func (c *Client) OpenAPI(ctx context.Context) (map[string]any, error) {
	var out map[string]any
	if err := c.get(ctx, "/openapi.json", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Metrics returns the Prometheus text exposition (needs metrics:read).
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	resp, err := c.send(ctx, &request{method: http.MethodGet, path: "/metrics"})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return readAll(resp.Body)
}
