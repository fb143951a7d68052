package fax

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the api package.
const (
	ECodeInvalid         = "invalid"          // 400
	ECodeUnauthorized    = "unauthorized"     // 401
	ECodeForbidden       = "forbidden"        // 403
	ECodeNotFound        = "not_found"        // 404
	ECodeConflict        = "conflict"         // 409
	ECodeGone            = "gone"             // 410
	ECodeTooLarge        = "too_large"        // 413
	ECodeUnsupportedType = "unsupported_type" // 415
	ECodeUnprocessable   = "unprocessable"    // 422
	ECodeRateLimited     = "rate_limited"     // 429
	ECodeInternal        = "internal"         // 500
	ECodeUnavailable     = "unavailable"      // 503
	// ECodeDocumentPending: a received fax's document is still being
	// fetched from its carrier; asking again later may succeed.
	ECodeDocumentPending = "document_pending" // 409
)

// Error is an error whose Message is safe to show to an API user. Anything that
// is not an *Error is treated as internal and its text is never shown.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, ECodeInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ECodeInternal
}

// ErrorMessage returns the user-safe message of err, or a generic one for
// internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Because returns an error that shows the API user code and the formatted
// message while keeping cause, for the log, in its chain: errors.Is and
// errors.As find both.
func Because(cause error, code, format string, args ...any) error {
	return &causedError{shown: Errorf(code, format, args...), cause: cause}
}

type causedError struct {
	shown *Error
	cause error
}

func (e *causedError) Error() string   { return e.shown.Message + ": " + e.cause.Error() }
func (e *causedError) Unwrap() []error { return []error{e.shown, e.cause} }
