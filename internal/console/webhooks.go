package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

// The webhook pages: endpoints and their deliveries.

type endpointsData struct {
	Endpoints []endpointRow
	Next      string
	Created   *wire.Endpoint // shown once, with its secret
}

type endpointRow struct {
	wire.Endpoint
	LastSuccess, FailingSince string
}

var eventTypes = []string{"fax.sent", "fax.failed", "fax.canceled", "fax.received", "sms.sent", "sms.failed",
	"fax.queued", "fax.sending", "fax.page_sent", "fax.retry_scheduled", "fax.receiving"}

func (c *Console) handleEndpoints(w http.ResponseWriter, r *http.Request, p *principal) error {
	return c.renderEndpoints(w, r, p, http.StatusOK, nil)
}

func (c *Console) renderEndpoints(w http.ResponseWriter, r *http.Request, p *principal, status int, created *wire.Endpoint) error {
	var list wire.List[wire.Endpoint]
	if err := c.callJSON(r, p, "GET", "/v1/webhook-endpoints"+query("limit", "25", "cursor", r.URL.Query().Get("cursor")), nil, &list); err != nil {
		return err
	}
	d := endpointsData{Created: created}
	for _, e := range list.Data {
		d.Endpoints = append(d.Endpoints, c.endpointHealth(r, p, e))
	}
	if list.NextCursor != nil {
		d.Next = query("cursor", *list.NextCursor)
	}
	c.render(w, r, status, "endpoints", p, &view{Title: "Webhook endpoints", Nav: "endpoints", Data: d})
	return nil
}

// endpointHealth reads an endpoint's last success and how long it has
// been failing from its newest deliveries.
func (c *Console) endpointHealth(r *http.Request, p *principal, e wire.Endpoint) endpointRow {
	row := endpointRow{Endpoint: e}
	var ds wire.List[wire.Delivery]
	if c.callJSON(r, p, "GET", "/v1/deliveries"+query("endpoint_id", e.ID, "limit", "20"), nil, &ds) != nil {
		return row
	}
	for _, d := range ds.Data {
		if d.Status == "succeeded" {
			row.LastSuccess = d.UpdatedAt
			break
		}
		if n := len(d.Attempts); d.Status == "failed" || n > 0 && attemptFailed(d.Attempts[n-1]) {
			row.FailingSince = d.CreatedAt
		}
	}
	return row
}

// attemptFailed reports an attempt that did not end in a 2xx, as the
// delivery worker counts it.
func attemptFailed(a wire.Attempt) bool {
	return a.Error != "" || a.StatusCode < 200 || a.StatusCode > 299
}

func endpointForm(r *http.Request) map[string]any {
	events := r.Form["events"]
	in := map[string]any{
		"url": strings.TrimSpace(r.FormValue("url")), "format": r.FormValue("format"),
		"inflight": r.FormValue("inflight") == "1", "description": strings.TrimSpace(r.FormValue("description")),
	}
	// A key that may not read faxes sees the numbers masked and has no
	// numbers field: leaving them out keeps them as they are.
	if _, ok := r.Form["numbers"]; ok {
		numbers := strings.FieldsFunc(r.FormValue("numbers"), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' })
		if numbers == nil {
			numbers = []string{}
		}
		in["numbers"] = numbers
	}
	if len(events) > 0 {
		in["events"] = events
	}
	return in
}

func (c *Console) handleEndpointCreate(w http.ResponseWriter, r *http.Request, p *principal) error {
	var e wire.Endpoint
	if err := c.callJSON(r, p, "POST", "/v1/webhook-endpoints", endpointForm(r), &e); err != nil {
		return err
	}
	c.audit(r, p.key.ID, "console.webhook_endpoint_create", "webhook_endpoint", e.ID, "ok")
	return c.renderEndpoints(w, r, p, http.StatusCreated, &e)
}

type endpointData struct {
	Endpoint   wire.Endpoint
	Secret     string // shown once after a rotation
	EventTypes []string
	Since      string
}

func (c *Console) handleEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	return c.renderEndpoint(w, r, p, "")
}

func (c *Console) renderEndpoint(w http.ResponseWriter, r *http.Request, p *principal, secret string) error {
	d := endpointData{EventTypes: eventTypes, Secret: secret, Since: c.now().UTC().Add(-24 * time.Hour).Format(time.RFC3339)}
	if err := c.callJSON(r, p, "GET", "/v1/webhook-endpoints/"+url.PathEscape(r.PathValue("id")), nil, &d.Endpoint); err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "endpoint", p, &view{Title: "Endpoint " + d.Endpoint.ID, Nav: "endpoints", Data: d})
	return nil
}

func (c *Console) handleEndpointUpdate(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	in := endpointForm(r)
	if _, ok := in["events"]; !ok {
		in["events"] = []string{}
	}
	if err := c.callJSON(r, p, "PATCH", "/v1/webhook-endpoints/"+url.PathEscape(id), in, nil); err != nil {
		return err
	}
	c.audit(r, p.key.ID, "console.webhook_endpoint_update", "webhook_endpoint", id, "ok")
	redirect(w, r, Prefix+"/endpoints/"+url.PathEscape(id), "updated")
	return nil
}

func (c *Console) handleEndpointAction(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, action := r.PathValue("id"), r.PathValue("action")
	base := "/v1/webhook-endpoints/" + url.PathEscape(id)
	back := Prefix + "/endpoints/" + url.PathEscape(id)
	var err error
	done := action
	switch action {
	case "enable", "disable":
		err = c.callJSON(r, p, "PATCH", base, map[string]bool{"enabled": action == "enable"}, nil)
		done += "d"
	case "delete":
		err = c.callJSON(r, p, "DELETE", base, nil, nil)
		back, done = Prefix+"/endpoints", "deleted"
	case "test":
		err = c.callJSON(r, p, "POST", base+"/test", nil, nil)
	case "retry-failed":
		since := strings.TrimSpace(r.FormValue("since"))
		if t, perr := time.Parse("2006-01-02T15:04", since); perr == nil {
			since = t.UTC().Format(time.RFC3339)
		}
		err = c.callJSON(r, p, "POST", base+"/retry-failed", map[string]string{"since": since}, nil)
		back = Prefix + "/deliveries" + query("endpoint_id", id)
	case "rotate":
		var e wire.Endpoint
		if err := c.callJSON(r, p, "POST", base+"/rotate-secret", map[string]any{}, &e); err != nil {
			return err
		}
		c.audit(r, p.key.ID, "console.webhook_endpoint_rotate", "webhook_endpoint", id, "ok")
		return c.renderEndpoint(w, r, p, e.Secret)
	default:
		return fax.Errorf(fax.ECodeNotFound, "no endpoint action %q", action)
	}
	if err != nil {
		return err
	}
	c.audit(r, p.key.ID, "console.webhook_endpoint_"+strings.ReplaceAll(action, "-", "_"), "webhook_endpoint", id, "ok")
	redirect(w, r, back, done)
	return nil
}

type deliveriesData struct {
	EndpointID, Status, EventType string
	Endpoints                     []wire.Endpoint
	Deliveries                    []wire.Delivery
	Next                          string
	EventTypes                    []string
	Since                         string
}

func (c *Console) handleDeliveries(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	d := deliveriesData{EndpointID: q.Get("endpoint_id"), Status: q.Get("status"), EventType: q.Get("event_type"), EventTypes: append([]string{"webhook.test"}, eventTypes...),
		Since: c.now().Add(-24 * time.Hour).Format("2006-01-02T15:04")}
	var eps wire.List[wire.Endpoint]
	if err := c.callJSON(r, p, "GET", "/v1/webhook-endpoints?limit=100", nil, &eps); err != nil {
		return err
	}
	d.Endpoints = eps.Data
	var list wire.List[wire.Delivery]
	path := "/v1/deliveries" + query("endpoint_id", d.EndpointID, "status", d.Status, "event_type", d.EventType, "limit", "50", "cursor", q.Get("cursor"))
	if err := c.callJSON(r, p, "GET", path, nil, &list); err != nil {
		return err
	}
	d.Deliveries = list.Data
	if list.NextCursor != nil {
		d.Next = query("endpoint_id", d.EndpointID, "status", d.Status, "event_type", d.EventType, "cursor", *list.NextCursor)
	}
	c.render(w, r, http.StatusOK, "deliveries", p, &view{Title: "Deliveries", Nav: "deliveries", Data: d})
	return nil
}

func (c *Console) handleDelivery(w http.ResponseWriter, r *http.Request, p *principal) error {
	var d wire.Delivery
	if err := c.callJSON(r, p, "GET", "/v1/deliveries/"+url.PathEscape(r.PathValue("id")), nil, &d); err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "delivery", p, &view{Title: "Delivery " + d.ID, Nav: "deliveries", Data: d})
	return nil
}

func (c *Console) handleDeliveryRetry(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	if err := c.callJSON(r, p, "POST", "/v1/deliveries/"+url.PathEscape(id)+"/retry", nil, nil); err != nil {
		return err
	}
	c.audit(r, p.key.ID, "console.delivery_retry", "delivery", id, "ok")
	redirect(w, r, Prefix+"/deliveries/"+url.PathEscape(id), "retried")
	return nil
}
