package carrier

import (
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
)

// MaxCodeLen bounds a carrier's error type and code as faxgate keeps them.
const MaxCodeLen = 100

// MaxMessageLen bounds a carrier's error message as faxgate keeps it.
const MaxMessageLen = 500

// MaxUserMessage bounds the carrier's words quoted in a Failure.Message.
const MaxUserMessage = 200

// Truncate shortens s to at most n bytes without splitting a character.
func Truncate(s string, n int) string { return fax.Truncate(s, n) }

// Clip shortens a carrier's text to n bytes on a rune boundary and turns
// control characters into spaces, so that a Failure stays readable and
// bounded.
func Clip(s string, n int) string {
	return strings.TrimSpace(fax.Truncate(fax.OneLine(s), n))
}

// Clean makes a carrier's text safe to store and show: valid UTF-8, one
// line with single spaces, none of secrets in it.
func Clean(s string, secrets [][]byte) string {
	s = fax.Words(s)
	for _, k := range secrets {
		s = strings.ReplaceAll(s, string(k), "[redacted]")
	}
	return s
}

// UserMessage joins faxgate's words and the carrier's into one sentence
// short enough for a fax's error.
func UserMessage(prefix, carrier string) string {
	if carrier == "" {
		return prefix + "."
	}
	carrier = strings.TrimRight(Truncate(carrier, MaxUserMessage), ".")
	return prefix + ": " + carrier + "."
}

// FailureMessage is the user-facing message of a failure code, worded the
// same for every carrier; fallback is the message of any other code.
func FailureMessage(code, fallback string) string {
	switch code {
	case fax.FailBusy:
		return "The receiving line was busy."
	case fax.FailNoAnswer:
		return "The receiving number did not answer."
	case fax.FailCongestion:
		return "The telephone network was congested."
	case fax.FailNotOperational:
		return "The receiving number is not in service."
	case fax.FailCanceled:
		return "The fax was canceled."
	case fax.FailDocument:
		return "The document could not be prepared for faxing."
	case fax.FailFax:
		return "The call was answered, but not by a fax machine that completed the transfer."
	case fax.FailTimeout:
		return "The fax transmission timed out."
	case fax.FailLine:
		return "The line failed during transmission."
	}
	return fallback
}

// JoinAnd lists names as "A", "A and B" or "A, B and C".
func JoinAnd(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// Keys trims each of list and drops the empty ones, as secrets to check
// and redact.
func Keys(list []string) [][]byte {
	var out [][]byte
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, []byte(s))
		}
	}
	return out
}
