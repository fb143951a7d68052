package simulator

import (
	"context"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/providertest"
)

func TestContract(t *testing.T) {
	t.Parallel()
	s := New(Config{Apply: func(context.Context, *fax.Update) (fax.ApplyResult, error) { return fax.ApplyResult{}, nil }})
	providertest.Run(t, s, Name)
}
