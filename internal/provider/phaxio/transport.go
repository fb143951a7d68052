package phaxio

import (
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// Limits on what faxgate reads of Phaxio's answers.
const (
	maxAnswer     = 1 << 20 // a send or cancel answer
	maxListAnswer = 8 << 20 // a list answer (Find)
)

// sendPrefix starts the errors of a send.
const sendPrefix = "phaxio: send"

// sendNames name Phaxio in the shared classification of a send's answers.
func sendNames() carrier.Names {
	return carrier.Names{
		Carrier:    "Phaxio",
		Prefix:     sendPrefix,
		BaseURLVar: "PHAXIO_BASE_URL",
		AuthHelp:   "Phaxio rejected the API credentials; check PHAXIO_API_KEY and PHAXIO_API_SECRET.",
	}
}

// refused is a permanent refusal of the fax: by Phaxio with an HTTP
// status, or by faxgate before sending anything when status is 0.
func refused(code, message, carrierType string, status int, carrierMsg string) *fax.SendError {
	return carrier.Refused(sendPrefix, code, message, carrierType, status, carrierMsg)
}

// clean makes a carrier's text safe to store and show: valid UTF-8, one
// line, no secret of this carrier in it.
func (p *Provider) clean(s string) string {
	return carrier.Clean(s, append(p.secrets[:len(p.secrets):len(p.secrets)], p.tokens...))
}
