package fax

import (
	"errors"
	"time"
)

// SendOutcome classifies a failed hand-over to a carrier.
type SendOutcome int

const (
	// SendRetryable: the carrier clearly did not take the fax (connection
	// refused, 5xx before acceptance, 429): hand it over again later.
	SendRetryable SendOutcome = iota + 1
	// SendPermanent: the carrier refused the fax (a 4xx); it fails.
	SendPermanent
	// SendAmbiguous: the request may have reached the carrier (a timeout
	// after sending); ask the carrier rather than send again.
	SendAmbiguous
)

// SendError is a carrier's refusal or failure to take a fax.
type SendError struct {
	Outcome    SendOutcome
	RetryAfter time.Duration // from the carrier's Retry-After, if any
	Failure    *Failure      // for permanent errors: what to tell the user
	// Down (retryable errors only) says the carrier could not be reached
	// at all: the connection was refused or its name did not resolve,
	// before any byte was sent. With a fallback the fax moves on at once.
	Down bool
	Err  error
}

func (e *SendError) Error() string {
	msg := "send failed"
	if e.Failure != nil && e.Failure.Message != "" {
		msg = e.Failure.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *SendError) Unwrap() error { return e.Err }

// AsSendError returns err's *SendError; errors of no class are ambiguous,
// the safe assumption for a fax that must never be sent twice.
func AsSendError(err error) *SendError {
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	return &SendError{Outcome: SendAmbiguous, Err: err}
}
