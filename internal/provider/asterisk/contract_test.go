package asterisk

import (
	"testing"

	"github.com/faxgate/faxgate/internal/provider/providertest"
)

// TestContract runs the carrier contract on an Asterisk that receives
// (spool and inbound secret) but has no AMI to send with.
func TestContract(t *testing.T) {
	t.Parallel()
	p := mustNew(t, Config{InboundSecrets: []string{"asterisk-contract-secret"}, SpoolDir: t.TempDir()})
	t.Cleanup(func() { p.Close() })
	providertest.Run(t, p, Name)
}
