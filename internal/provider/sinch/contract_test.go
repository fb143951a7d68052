package sinch

import (
	"testing"

	"github.com/faxgate/faxgate/internal/provider/providertest"
)

func TestContract(t *testing.T) {
	t.Parallel()
	providertest.Run(t, sendProvider(t, "http://127.0.0.1:9"+testBasePath, nil), Name)
}
