package phaxio

import (
	"strings"
	"unicode/utf8"

	"github.com/faxgate/faxgate/internal/fax"
)

// newFailure describes a carrier error in faxgate's words, keeping the
// carrier's own type, code and message. The error id decides first (17 busy,
// 16 ring timeout, 15 congestion, 34 number not operational), then the error
// type; anything else is a carrier error.
func newFailure(typ, id, msg string) *fax.Failure {
	code := failCode(typ, id)
	return &fax.Failure{
		Code:           code,
		Message:        failMessage(code),
		CarrierType:    truncate(typ, maxCodeLen),
		CarrierCode:    truncate(id, maxCodeLen),
		CarrierMessage: truncate(msg, maxMessageLen),
	}
}

// maxCodeLen bounds a carrier's error type and code as faxgate keeps them.
const maxCodeLen = 100

// maxMessageLen bounds a carrier's error message as faxgate keeps it.
const maxMessageLen = 500

// truncate shortens s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func failCode(typ, id string) string {
	switch id {
	case "17":
		return fax.FailBusy
	case "16":
		return fax.FailNoAnswer
	case "15":
		return fax.FailCongestion
	case "34":
		return fax.FailNotOperational
	}
	switch strings.ToLower(strings.ReplaceAll(typ, "_", "")) {
	case "documentconversionerror":
		return fax.FailDocument
	case "lineerror":
		return fax.FailLine
	case "faxerror":
		return fax.FailFax
	}
	return fax.FailCarrier
}

// failMessage is the user-facing message of a failure code, worded as the
// other carriers word it.
func failMessage(code string) string {
	switch code {
	case fax.FailBusy:
		return "The receiving line was busy."
	case fax.FailNoAnswer:
		return "The receiving number did not answer."
	case fax.FailCongestion:
		return "The telephone network was congested."
	case fax.FailNotOperational:
		return "The receiving number is not in service."
	case fax.FailDocument:
		return "The document could not be prepared for faxing."
	case fax.FailFax:
		return "The call was answered, but not by a fax machine that completed the transfer."
	case fax.FailLine:
		return "The line failed during transmission."
	}
	return "Phaxio reported an error."
}
