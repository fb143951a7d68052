package sinch

import (
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// Limits on what faxgate reads of Sinch's answers.
const (
	maxAnswer     = 1 << 20 // a send or cancel answer
	maxListAnswer = 8 << 20 // a list answer (Find)
)

// sendPrefix starts the errors of a send.
const sendPrefix = "sinch: send"

// sendNames name Sinch in the shared classification of a send's answers.
func sendNames() carrier.Names {
	return carrier.Names{
		Carrier:    "Sinch",
		Prefix:     sendPrefix,
		BaseURLVar: "SINCH_BASE_URL",
		AuthHelp:   "Sinch rejected the access key; check SINCH_KEY_ID and SINCH_KEY_SECRET.",
	}
}

// refused is a permanent refusal of the fax: by Sinch with an HTTP
// status, or by faxgate before sending anything when status is 0.
func refused(code, message, carrierType string, status int, carrierMsg string) *fax.SendError {
	return carrier.Refused(sendPrefix, code, message, carrierType, status, carrierMsg)
}

// clean makes a carrier's text safe to store and show: valid UTF-8, one
// line, no secret of this carrier in it.
func (p *Provider) clean(s string) string {
	secrets := p.secrets[:len(p.secrets):len(p.secrets)]
	for _, k := range []string{p.keySecret, p.callbackPass} {
		if k != "" {
			secrets = append(secrets, []byte(k))
		}
	}
	return carrier.Clean(s, secrets)
}

// constError is an error that can be a constant, so that sentinels are not
// package variables.
type constError string

func (e constError) Error() string { return string(e) }
