package fax

// Status is where a fax is in its life.
type Status string

const (
	StatusQueued   Status = "queued"
	StatusSending  Status = "sending"
	StatusSent     Status = "sent"
	StatusFailed   Status = "failed"
	StatusCanceled Status = "canceled"
	StatusReceived Status = "received"
	StatusPartial  Status = "partial"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s.rank() >= 0 }

// Final reports whether s can never change again.
func (s Status) Final() bool { return s.rank() == 2 }

func (s Status) rank() int {
	switch s {
	case StatusQueued:
		return 0
	case StatusSending:
		return 1
	case StatusSent, StatusFailed, StatusCanceled, StatusReceived, StatusPartial:
		return 2
	}
	return -1
}

// CanTransition reports whether a fax in status from may move to status to.
// Statuses only move forward: queued → sending → a final status, skipping
// allowed. A final status never changes, and a repeated or stale update (one
// that would keep or lower the rank) is refused; callers ignore such updates
// rather than treating them as errors, because carriers repeat and reorder
// callbacks.
func CanTransition(from, to Status) bool {
	if !from.Valid() || !to.Valid() || from.Final() {
		return false
	}
	return to.rank() > from.rank()
}

// OutboundStatus reports whether s belongs to outbound faxes.
func (s Status) OutboundStatus() bool {
	switch s {
	case StatusQueued, StatusSending, StatusSent, StatusFailed, StatusCanceled:
		return true
	}
	return false
}
