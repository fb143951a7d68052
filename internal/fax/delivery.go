package fax

import "time"

// DeliveryStatus is where a delivery is (CONTRACT.md).
type DeliveryStatus string

const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliverySucceeded DeliveryStatus = "succeeded"
	DeliveryFailed    DeliveryStatus = "failed"
)

// Valid reports whether s is a known delivery status.
func (s DeliveryStatus) Valid() bool {
	return s == DeliveryPending || s == DeliverySucceeded || s == DeliveryFailed
}

// Delivery is one event on its way to one endpoint.
type Delivery struct {
	ID            string
	EndpointID    string
	EventID       string
	EventType     EventType
	FaxID         string
	Status        DeliveryStatus
	AttemptCount  int
	NextAttemptAt *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Attempts      []Attempt
}

// Attempt is one try at a delivery.
type Attempt struct {
	At           time.Time
	StatusCode   int // 0 when no response arrived
	LatencyMS    int64
	Error        string
	ResponseBody string // truncated
	// HoldEndpointUntil is set when the receiver answered 429 or 503 with
	// Retry-After: the wait applies to the endpoint, so recording the
	// attempt also puts its other pending deliveries off until then. It is
	// not stored with the attempt.
	HoldEndpointUntil *time.Time
}

// DeliveryFilter selects deliveries, newest first.
type DeliveryFilter struct {
	EndpointID string
	EventID    string
	FaxID      string
	Status     DeliveryStatus
	EventType  EventType // "" means any
	Since      *time.Time
	Until      *time.Time
	Limit      int
	Cursor     string
}

// DeliveryJob is a claimed delivery with what a worker needs to make the
// attempt: the endpoint and the event.
type DeliveryJob struct {
	Delivery Delivery
	Endpoint Endpoint
	Event    Event
}

// RetrySchedule is the carriers' retry policy: the wait before each retry.
// Phaxio and Sinch wait 5, 10, 20 and 30 minutes, then 6 hours for retries
// 5 to 16: 16 retries over about three days.
func DefaultRetrySchedule() []time.Duration {
	s := []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute}
	for i := 5; i <= 16; i++ {
		s = append(s, 6*time.Hour)
	}
	return s
}
