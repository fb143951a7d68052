package fax

import (
	"encoding/json"
	"time"
)

// EventType names what happened; the names are public (CONTRACT.md).
type EventType string

const (
	EventFaxQueued         EventType = "fax.queued"
	EventFaxSending        EventType = "fax.sending"
	EventFaxPageSent       EventType = "fax.page_sent"
	EventFaxRetryScheduled EventType = "fax.retry_scheduled"
	EventFaxSent           EventType = "fax.sent"
	EventFaxFailed         EventType = "fax.failed"
	EventFaxCanceled       EventType = "fax.canceled"
	EventFaxReceived       EventType = "fax.received"
	// EventFaxReceiving announces a received fax whose document is still
	// being fetched; fax.received follows when the document settles.
	EventFaxReceiving EventType = "fax.receiving"
	EventSMSSent      EventType = "sms.sent"
	EventSMSFailed    EventType = "sms.failed"
	// EventEndpointTest is sent by the test button only to its endpoint.
	EventEndpointTest EventType = "webhook.test"
	// EventEndpointDisabled announces an endpoint disabled for failing.
	EventEndpointDisabled EventType = "webhook.endpoint_disabled"
)

// EventTypes lists every event type a user can subscribe to.
var eventTypes = []EventType{
	EventFaxQueued, EventFaxSending, EventFaxPageSent, EventFaxRetryScheduled,
	EventFaxSent, EventFaxFailed, EventFaxCanceled, EventFaxReceived, EventFaxReceiving,
	EventSMSSent, EventSMSFailed, EventEndpointTest, EventEndpointDisabled,
}

// EventTypes returns every known event type.
func EventTypes() []EventType { return append([]EventType(nil), eventTypes...) }

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool {
	for _, k := range eventTypes {
		if k == t {
			return true
		}
	}
	return false
}

// Inflight reports whether t happens during transmission; such events go only
// to endpoints that asked for them.
func (t EventType) Inflight() bool {
	switch t {
	case EventFaxQueued, EventFaxSending, EventFaxPageSent, EventFaxRetryScheduled, EventFaxReceiving:
		return true
	}
	return false
}

// EventForStatus is the event announcing that a fax reached s.
func EventForStatus(s Status) EventType {
	switch s {
	case StatusQueued:
		return EventFaxQueued
	case StatusSending:
		return EventFaxSending
	case StatusSent:
		return EventFaxSent
	case StatusFailed:
		return EventFaxFailed
	case StatusCanceled:
		return EventFaxCanceled
	case StatusReceived, StatusPartial:
		return EventFaxReceived
	}
	return ""
}

// Event is one entry of a fax's timeline and the unit of webhook delivery.
// Data is the event's payload "data" object, frozen when the event happened.
type Event struct {
	ID        string
	Type      EventType
	FaxID     string
	CreatedAt time.Time
	Data      json.RawMessage
}

// APIVersion is the payload version new endpoints pin.
const APIVersion = "2026-11-01"
