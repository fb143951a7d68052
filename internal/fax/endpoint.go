package fax

import (
	"slices"
	"time"
)

// Endpoint formats (CONTRACT.md).
const (
	FormatJSON   = "json"
	FormatPhaxio = "phaxio"
	FormatGoFax  = "gofax"
)

// Endpoint is a user's webhook destination.
type Endpoint struct {
	ID          string
	URL         string
	Events      []EventType // empty: every postflight type (and inflight if Inflight)
	Inflight    bool
	Format      string
	Numbers     []string // receiving numbers this endpoint is bound to; empty: global
	Description string
	APIVersion  string
	// Secret signs deliveries. PreviousSecret keeps signing alongside it
	// until PreviousSecretExpiresAt, so receivers can roll over.
	Secret                  string
	PreviousSecret          string
	PreviousSecretExpiresAt *time.Time
	// FaxID is set for the implicit endpoint made from a fax's callback_url.
	FaxID          string
	Enabled        bool
	DisabledReason string
	OwnerKeyID     string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Wants reports whether e subscribes to events of type t.
func (e *Endpoint) Wants(t EventType) bool {
	if !e.Enabled {
		return false
	}
	if t.Inflight() && !e.Inflight {
		return false
	}
	if !e.Represents(t) {
		return false
	}
	if len(e.Events) == 0 {
		return true
	}
	return slices.Contains(e.Events, t)
}

// Secrets returns the secrets that sign a delivery at time now: the current
// one, and the previous one while its overlap lasts.
func (e *Endpoint) Secrets(now time.Time) []string {
	s := []string{e.Secret}
	if e.PreviousSecret != "" && e.PreviousSecretExpiresAt != nil && now.Before(*e.PreviousSecretExpiresAt) {
		s = append(s, e.PreviousSecret)
	}
	return s
}

// Route picks the endpoints an event of type t about fax f goes to, most
// specific first as carriers do: the fax's own callback endpoint if it has one;
// otherwise endpoints bound to the fax's receiving number; otherwise global
// endpoints. Only endpoints that want t are returned.
func Route(t EventType, f *Fax, endpoints []*Endpoint) []*Endpoint {
	var own, bound, global []*Endpoint
	for _, e := range endpoints {
		switch {
		case e.FaxID != "":
			if f != nil && e.FaxID == f.ID {
				own = append(own, e)
			}
		case len(e.Numbers) > 0:
			if f != nil && f.Direction == Inbound && slices.Contains(e.Numbers, f.To) {
				bound = append(bound, e)
			}
		default:
			global = append(global, e)
		}
	}
	for _, tier := range [][]*Endpoint{own, bound, global} {
		if len(tier) == 0 {
			continue
		}
		var out []*Endpoint
		for _, e := range tier {
			if e.Wants(t) {
				out = append(out, e)
			}
		}
		return out
	}
	return nil
}

// Represents reports whether e's format has a shape for events of type t:
// Phaxio's webhooks have no queued, sending, receiving or SMS events, GoFax's no
// inflight ones. Such events are not routed to the endpoint at all.
func (e *Endpoint) Represents(t EventType) bool {
	switch e.Format {
	case FormatPhaxio:
		switch t {
		case EventFaxQueued, EventFaxSending, EventFaxReceiving, EventSMSSent, EventSMSFailed:
			return false
		}
	case FormatGoFax:
		return !t.Inflight()
	}
	return true
}
