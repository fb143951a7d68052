package phaxio

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// Check proves PHAXIO_API_KEY and PHAXIO_API_SECRET with Phaxio's cheapest
// authenticated read, GET /account/status: a 2xx answer with success true.
// Errors name the settings to fix and quote Phaxio without secrets.
func (p *Provider) Check(ctx context.Context) (string, error) {
	if p.apiKey == "" || len(p.secrets) == 0 {
		return "", fmt.Errorf("phaxio: cannot check the credentials: set PHAXIO_API_KEY and PHAXIO_API_SECRET")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL+"/account/status", nil)
	if err != nil {
		return "", fmt.Errorf("phaxio: check: build request: %w", err)
	}
	p.prepare(req)
	var sent atomic.Bool
	a, err := carrier.Call(p.client, req, &sent, maxAnswer)
	if err != nil {
		return "", fmt.Errorf("phaxio: check: %s", p.clean(err.Error()))
	}
	msg, _ := readError(a.Body)
	switch {
	case a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden:
		return "", fmt.Errorf("phaxio: Phaxio refused the credentials (HTTP %d); check PHAXIO_API_KEY and PHAXIO_API_SECRET", a.Status)
	case a.Status < 200 || a.Status > 299:
		return "", fmt.Errorf("phaxio: check: HTTP %d %q", a.Status, carrier.Truncate(p.clean(msg), carrier.MaxUserMessage))
	case a.ReadErr != nil:
		return "", fmt.Errorf("phaxio: check: read the answer: %w", a.ReadErr)
	}
	if err := checkAnswer(a.Body, p.clean); err != nil {
		return "", err
	}
	return "account status read", nil
}

// checkAnswer reads Phaxio's answer to GET /account/status: a JSON object
// whose success is not false.
func checkAnswer(body []byte, clean func(string) string) error {
	a, ok, err := readAnswer(body)
	if err != nil {
		return fmt.Errorf("phaxio: check: %w", err)
	}
	if !ok {
		return fmt.Errorf("phaxio: check: Phaxio answered success false: %q", carrier.Truncate(clean(a.Message.String()), carrier.MaxUserMessage))
	}
	return nil
}
