package gofax

import (
	"context"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/providertest"
)

func TestContract(t *testing.T) {
	t.Parallel()
	p := mustNew(t, Config{
		Tokens: []string{"gofax-contract-token"}, WebhookUser: "gofax", WebhookPass: []string{"pw"},
		BaseURL: "http://127.0.0.1:9", PublicURL: "https://fax.example.com",
		CallbackTokenFunc: func(context.Context, string) (string, error) {
			return "", fax.Errorf(fax.ECodeNotFound, "no such fax")
		},
	})
	providertest.Run(t, p, Name)
}
