package sinch

import (
	"net/http"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/providertest"
)

const (
	testProject   = "9a3c5e7f-1b2d-4c6e-8f0a-123456789abc"
	testKeyID     = "b2c4d6e8-key-id"
	testKeySecret = "sinch-keysecret-77e1"
	testPublicURL = "https://fax.example.com"
	testTo        = "+15551230007"
	testFrom      = "+15559870002"
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

// sendConfig sets up sending to baseURL with Basic auth, the callbacks
// carrying the inbound Basic credentials.
func sendConfig(baseURL string, client *http.Client) Config {
	return Config{
		ProjectID:        testProject,
		KeyID:            testKeyID,
		KeySecret:        testKeySecret,
		BaseURL:          baseURL,
		InboundBasicUser: testUser,
		InboundBasicPass: []string{testPass, "pw-old-0c3e"},
		HMACSecrets:      []string{testSecret},
		PublicURL:        testPublicURL + "/",
		HTTPClient:       client,
		Now:              testNow,
	}
}

func sendProvider(tb testing.TB, baseURL string, client *http.Client) *Provider {
	tb.Helper()
	return mustNew(tb, sendConfig(baseURL, client))
}

// testBasePath follows the fake carrier's address in the provider's base
// URL, so that trimming is exercised too.
const testBasePath = "/"

// checkGolden compares got with testdata/requests/name.golden, rewriting it
// under -update.
func checkGolden(tb testing.TB, name, got string) {
	tb.Helper()
	providertest.CheckGolden(tb, name, got, *update)
}
