package phaxio

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/providertest"
)

func TestSignVectors(t *testing.T) {
	// Vectors from Phaxio's official Ruby SDK.
	tests := []struct {
		name  string
		files map[string][][]byte
		want  string
	}{
		{"no files", nil, "64a735ef0c47a0ae671e381c046648f0966deb29"},
		{"two empty files named file", map[string][][]byte{"file": {{}, {}}}, "1d2426c242a8c5de7eb1d9b662b7fda1d0b6edab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sign("test-webhook-token", "example.com", map[string][]string{"test": {"true"}}, tt.files)
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSignOrder(t *testing.T) {
	// Fields sort by name; values of one name keep their order, so swapping
	// them must change the signature while reordering names must not.
	a := Sign("k", "u", map[string][]string{"b": {"1"}, "a": {"x", "y"}}, nil)
	b := Sign("k", "u", map[string][]string{"a": {"x", "y"}, "b": {"1"}}, nil)
	c := Sign("k", "u", map[string][]string{"a": {"y", "x"}, "b": {"1"}}, nil)
	if a != b {
		t.Errorf("got %s and %s for the same fields, want equal", a, b)
	}
	if a == c {
		t.Errorf("got equal signatures for reordered values, want different")
	}
}

func TestVerifyWebhook(t *testing.T) {
	mp := readFixture(t, "callback-multipart-success")
	js := readFixture(t, "callback-json")
	ue := readFixture(t, "callback-urlencoded-brackets")
	url := testPublicURL + callbackPath
	rotated := mustNew(t, Config{
		APISecrets:    []string{"apisec-new", testSecret},
		WebhookTokens: []string{"whtok-new", testToken},
		PublicURL:     testPublicURL + "/",
	})
	tokenOnly := mustNew(t, Config{WebhookTokens: []string{testToken}, PublicURL: testPublicURL})
	secretOnly := mustNew(t, Config{APISecrets: []string{testSecret}})
	none := mustNew(t, Config{})
	insecure := mustNew(t, Config{Insecure: true})
	insecureWithSecret := mustNew(t, Config{APISecrets: []string{testSecret}, Insecure: true})
	blank := mustNew(t, Config{APISecrets: []string{" ", ""}, WebhookTokens: []string{""}, PublicURL: testPublicURL})
	sha1MP := sha1Sig(t, testToken, url, mp.contentType, mp.body)

	tests := []struct {
		name   string
		p      *Provider
		fx     fixture
		target string // default callbackPath
		sig    string // "-" for no header
		ok     bool
	}{
		{"sha1 right", testProvider(t), mp, "", sha1MP, true},
		{"sha256 right", testProvider(t), mp, "", sha256Sig(testSecret, mp.body), true},
		{"sha1 urlencoded", testProvider(t), ue, "", sha1Sig(t, testToken, url, ue.contentType, ue.body), true},
		{"sha256 json", testProvider(t), js, "", sha256Sig(testSecret, js.body), true},
		{"sha1 uppercase", testProvider(t), mp, "", strings.ToUpper(sha1MP), true},
		{"sha256 uppercase padded", testProvider(t), mp, "", "  " + strings.ToUpper(sha256Sig(testSecret, mp.body)) + "\t", true},
		{"sha1 wrong token", testProvider(t), mp, "", sha1Sig(t, "whtok-other", url, mp.contentType, mp.body), false},
		{"sha256 wrong secret", testProvider(t), mp, "", sha256Sig("apisec-other", mp.body), false},
		{"sinch secret", testProvider(t), mp, "", sha256Sig("sinch-hmac-5e1f", mp.body), false},
		{"sha256 keyed with token", testProvider(t), mp, "", sha256Sig(testToken, mp.body), false},
		{"missing", testProvider(t), mp, "", "-", false},
		{"empty", testProvider(t), mp, "", "  ", false},
		{"truncated sha1", testProvider(t), mp, "", sha1MP[:39], false},
		{"truncated sha1 even", testProvider(t), mp, "", sha1MP[:38], false},
		{"truncated sha256", testProvider(t), mp, "", sha256Sig(testSecret, mp.body)[:62], false},
		{"sha256 with suffix", testProvider(t), mp, "", sha256Sig(testSecret, mp.body) + "00", false},
		{"not hex", testProvider(t), mp, "", "z" + sha1MP[1:], false},
		{"rotated token", rotated, mp, "", sha1MP, true},
		{"rotated secret", rotated, mp, "", sha256Sig(testSecret, mp.body), true},
		{"signed over host", testProvider(t), mp, "", sha1Sig(t, testToken, "http://10.0.0.7:8080"+callbackPath, mp.contentType, mp.body), false},
		{"query tampered", testProvider(t), mp, "/phaxio-callback?job_id=fax_01JD5Q8W7ZK3M2N4P6R8T0V2XC", sha1MP, false},
		{"query added", testProvider(t), mp, callbackPath + "&x=1", sha1MP, false},
		{"other path", testProvider(t), mp, "/phaxio-inbound?job_id=" + testJobID, sha1MP, false},
		{"sha1 over url only for json", testProvider(t), js, "", Sign(testToken, url, nil, nil), false},
		{"token only sha1", tokenOnly, mp, "", sha1MP, true},
		{"token only sha256", tokenOnly, mp, "", sha256Sig(testSecret, mp.body), false},
		{"secret only sha1", secretOnly, mp, "", sha1MP, false},
		{"secret only sha256", secretOnly, mp, "", sha256Sig(testSecret, mp.body), true},
		{"nothing configured", none, mp, "", sha256Sig(testSecret, mp.body), false},
		{"blank secrets", blank, mp, "", sha256Sig("", mp.body), false},
		{"insecure no header", insecure, mp, "", "-", true},
		{"insecure with secret enforces", insecureWithSecret, mp, "", "-", false},
		{"insecure with secret right", insecureWithSecret, mp, "", sha256Sig(testSecret, mp.body), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := tt.target
			if target == "" {
				target = callbackPath
			}
			r := newRequest(t, target, tt.fx.contentType)
			if tt.sig != "-" {
				r.Header.Set(SignatureHeader, tt.sig)
			}
			err := tt.p.VerifyWebhook(r, tt.fx.body)
			if tt.ok {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			providertest.WantCode(t, err, fax.ECodeUnauthorized)
			msg := err.Error()
			for _, secret := range []string{testSecret, testToken, sha1MP, sha256Sig(testSecret, tt.fx.body)} {
				if strings.Contains(strings.ToLower(msg), secret) {
					t.Errorf("error %q reveals a secret or an expected signature", msg)
				}
			}
		})
	}
}

func TestVerifyTamperedBody(t *testing.T) {
	p := testProvider(t)
	// idDigit finds the first digit of an id in JSON, bracket or plain fields.
	idDigit := regexp.MustCompile(`id\\?(?:"|\]|%5D)?\s*[:=]\s*\\?"?([0-9])`)
	for _, fx := range loadFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			sigs := []string{sha256Sig(testSecret, fx.body)}
			if s := sha1Sig(t, testToken, testPublicURL+fx.target(), fx.contentType, fx.body); s != "" {
				sigs = append(sigs, s)
			}
			// Change the first digit of the fax's id, present in every fixture.
			loc := idDigit.FindSubmatchIndex(fx.body)
			if loc == nil {
				t.Fatal("fixture has no fax id to change")
			}
			tampered := slices.Clone(fx.body)
			tampered[loc[2]] = '0' + (tampered[loc[2]]-'0'+1)%10
			for _, sig := range sigs {
				r := newRequest(t, fx.target(), fx.contentType)
				r.Header.Set(SignatureHeader, sig)
				providertest.WantCode(t, p.VerifyWebhook(r, tampered), fax.ECodeUnauthorized)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for success
	}{
		{"zero", Config{}, ""},
		{"full", Config{APIKey: "k", APISecrets: []string{"s"}, WebhookTokens: []string{"t"}, PublicURL: "https://fax.example.com/", BaseURL: "http://127.0.0.1:9000/v2.1"}, ""},
		{"public url relative", Config{PublicURL: "fax.example.com"}, "FAXGATE_PUBLIC_URL"},
		{"public url ftp", Config{PublicURL: "ftp://fax.example.com"}, "FAXGATE_PUBLIC_URL"},
		{"public url query", Config{PublicURL: "https://fax.example.com/?a=1"}, "FAXGATE_PUBLIC_URL"},
		{"public url credentials", Config{PublicURL: "https://u:p@fax.example.com"}, "FAXGATE_PUBLIC_URL"},
		{"token without public url", Config{WebhookTokens: []string{"t"}}, "PHAXIO_WEBHOOK_TOKEN"},
		{"bad base url", Config{BaseURL: "api.phaxio.com"}, "PHAXIO_BASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				if p.baseURL == "" || strings.HasSuffix(p.publicURL, "/") {
					t.Errorf("got baseURL %q publicURL %q, want default and no trailing slash", p.baseURL, p.publicURL)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func readFixture(tb testing.TB, name string) fixture {
	tb.Helper()
	body, err := os.ReadFile("testdata/" + name + ".body")
	if err != nil {
		tb.Fatal(err)
	}
	ct, err := os.ReadFile("testdata/" + name + ".ct")
	if err != nil {
		tb.Fatal(err)
	}
	return fixture{name, strings.TrimSpace(string(ct)), body}
}
