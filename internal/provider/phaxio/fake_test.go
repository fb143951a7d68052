package phaxio

import (
	"net/http"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/providertest"
)

const (
	testAPIKey = "phx-key-5c1d77"
	testTo     = "+15551230007"
	testFrom   = "+15559870002"
)

// testPDF and testTIFF are small documents; only their first bytes matter.
const (
	testPDF  = "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
	testTIFF = "II*\x00\x08\x00\x00\x00\x00\x00"
)

// testNow is the injected clock of the send tests.
func testNow() time.Time { return time.Date(2026, 3, 15, 2, 0, 0, 0, time.UTC) }

func testJob() *fax.DispatchJob {
	return &fax.DispatchJob{Attempt: 1, Fax: &fax.Fax{
		ID:           testJobID,
		Direction:    fax.Outbound,
		Status:       fax.StatusSending,
		To:           testTo,
		From:         testFrom,
		HeaderText:   "Acme Clinic – Records",
		DocumentType: "application/pdf",
		CreatedAt:    testNow().Add(-3 * time.Minute),
	}}
}

// sendProvider is a provider set up for sending to baseURL and verifying
// both webhook signatures.
func sendProvider(tb testing.TB, baseURL string, client *http.Client) *Provider {
	tb.Helper()
	return mustNew(tb, Config{
		APIKey:        testAPIKey,
		APISecrets:    []string{testSecret, "apisec-old"},
		WebhookTokens: []string{testToken},
		PublicURL:     testPublicURL + "/",
		BaseURL:       baseURL,
		HTTPClient:    client,
		Now:           testNow,
	})
}

// testBasePath follows the fake carrier's address in the provider's base
// URL, so that a base path is exercised too.
const testBasePath = "/v2.1"

// checkGolden compares got with testdata/requests/name.golden, rewriting it
// under -update.
func checkGolden(tb testing.TB, name, got string) {
	tb.Helper()
	providertest.CheckGolden(tb, name, got, *update)
}
