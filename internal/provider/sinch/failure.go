package sinch

import (
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// newFailure describes a carrier error in faxgate's words, keeping the
// carrier's own type, code and message. Sinch uses Phaxio's error numbers:
// the code decides first (17 busy, 16 ring timeout, 15 congestion, 34 number
// not operational), then the error type, CALL_ERROR counting as a line
// error; anything else is a carrier error.
func newFailure(typ, id, msg string) *fax.Failure {
	code := failCode(typ, id)
	return &fax.Failure{
		Code:           code,
		Message:        carrier.FailureMessage(code, "Sinch reported an error."),
		CarrierType:    carrier.Truncate(typ, carrier.MaxCodeLen),
		CarrierCode:    carrier.Truncate(id, carrier.MaxCodeLen),
		CarrierMessage: carrier.Truncate(msg, carrier.MaxMessageLen),
	}
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
	case "lineerror", "callerror":
		return fax.FailLine
	case "faxerror":
		return fax.FailFax
	}
	return fax.FailCarrier
}
