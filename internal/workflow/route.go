package workflow

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Route picks, among the routable endpoints a store loaded (enabled, not
// deleted: the global and number-bound ones and f's own), those that get
// ev, an event about fax f (nil for an event about an SMS): see fax.Route.
func Route(ev *fax.Event, f *fax.Fax, endpoints []*fax.Endpoint) []*fax.Endpoint {
	return fax.Route(ev.Type, f, endpoints)
}

// Disable is what disabling an endpoint records beside the endpoint's own
// row: the webhook.endpoint_disabled event, the endpoints it goes to and
// the audit entry.
type Disable struct {
	Event fax.Event
	To    []*fax.Endpoint
	Audit fax.AuditEntry
}

// DisableEndpoint announces that endpointID was disabled for reason to the
// other global endpoints among endpoints (those routable once it is off).
func DisableEndpoint(ids *fax.IDGen, endpointID, reason string, endpoints []*fax.Endpoint, now time.Time) Disable {
	data, _ := json.Marshal(map[string]string{"endpoint_id": endpointID, "reason": reason})
	d := Disable{
		Event: fax.Event{ID: ids.New(fax.PrefixEvent, now), Type: fax.EventEndpointDisabled, CreatedAt: now, Data: data},
		Audit: fax.AuditEntry{At: now, Actor: "system", Action: "webhook_endpoint.disable", TargetType: "webhook_endpoint",
			TargetID: endpointID, Outcome: "disabled", Detail: reason},
	}
	for _, e := range endpoints {
		if e.ID != endpointID && e.FaxID == "" && len(e.Numbers) == 0 && e.Wants(d.Event.Type) {
			d.To = append(d.To, e)
		}
	}
	return d
}

// TestEvent makes the webhook.test event the test button sends to
// endpointID alone.
func TestEvent(ids *fax.IDGen, endpointID string, now time.Time) fax.Event {
	data, _ := json.Marshal(map[string]string{"endpoint_id": endpointID, "message": "a test event from faxgate"})
	return fax.Event{ID: ids.New(fax.PrefixEvent, now), Type: fax.EventEndpointTest, CreatedAt: now, Data: data}
}

// Health is what one delivery attempt does to its endpoint's failing
// streak.
type Health struct {
	// Succeeded: the streak ends (failing_since cleared, last success now).
	Succeeded bool
	// StartFailing: a first failure starts the streak at the attempt.
	StartFailing bool
	// Disable, when not empty, is why the endpoint must be disabled.
	Disable string
}

// JudgeAttempt decides what attempt a, leaving its delivery in status, does
// to its endpoint: a success ends the failing streak, a 410 Gone disables
// the endpoint, a first failure starts a streak and a streak longer than
// disableAfter (0: never) disables it. failingSince is asked only when the
// answer depends on it, so a store reads it only then.
func JudgeAttempt(a fax.Attempt, status fax.DeliveryStatus, disableAfter time.Duration, failingSince func() (*time.Time, error)) (Health, error) {
	if status == fax.DeliverySucceeded {
		return Health{Succeeded: true}, nil
	}
	if a.StatusCode == 410 {
		return Health{Disable: "the receiver answered 410 Gone"}, nil
	}
	since, err := failingSince()
	if err != nil {
		return Health{}, err
	}
	if since == nil {
		return Health{StartFailing: true}, nil
	}
	if disableAfter > 0 && a.At.Sub(*since) >= disableAfter {
		return Health{Disable: fmt.Sprintf("no successful delivery for %s", disableAfter)}, nil
	}
	return Health{}, nil
}

// Usable says whether a user's endpoint (found, enabled as stored) may
// take a test event or retried deliveries: only an enabled one may.
func Usable(endpointID string, found, enabled bool) error {
	if !found {
		return fax.Errorf(fax.ECodeNotFound, "webhook endpoint %s not found", endpointID)
	}
	if !enabled {
		return fax.Errorf(fax.ECodeConflict, "the webhook endpoint is disabled; enable it first")
	}
	return nil
}
