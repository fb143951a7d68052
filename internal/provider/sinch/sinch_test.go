package sinch

import (
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/providertest"
)

func TestVerifyWebhook(t *testing.T) {
	fx := readFixture(t, "inbound-json-file")
	good := sign(testSecret, fx.body)
	both := testProvider(t)
	basicOnly := mustNew(t, Config{InboundBasicUser: testUser, InboundBasicPass: []string{testPass}})
	hmacOnly := mustNew(t, Config{HMACSecrets: []string{testSecret}})
	rotated := mustNew(t, Config{InboundBasicUser: testUser, InboundBasicPass: []string{"pw-new", testPass}, HMACSecrets: []string{"sinch-hmac-new", testSecret}})
	none := mustNew(t, Config{})
	insecure := mustNew(t, Config{Insecure: true})
	insecureWithSecret := mustNew(t, Config{HMACSecrets: []string{testSecret}, Insecure: true})
	blank := mustNew(t, Config{HMACSecrets: []string{"", " "}})

	tests := []struct {
		name       string
		p          *Provider
		user, pass string // user "-" for no Authorization header
		sig        string // "-" for no signature header
		ok         bool
	}{
		{"both right", both, testUser, testPass, good, true},
		{"both uppercase hex padded", both, testUser, testPass, " " + strings.ToUpper(good) + " ", true},
		{"both wrong signature", both, testUser, testPass, sign("sinch-hmac-other", fx.body), false},
		{"both phaxio secret", both, testUser, testPass, sign("apisec-0b8e61f5c3d2", fx.body), false},
		{"both missing signature", both, testUser, testPass, "-", false},
		{"both truncated signature", both, testUser, testPass, good[:63], false},
		{"both truncated even", both, testUser, testPass, good[:62], false},
		{"both signature too long", both, testUser, testPass, good + "00", false},
		{"both not hex", both, testUser, testPass, "g" + good[1:], false},
		{"both wrong password", both, testUser, "pw-guess", good, false},
		{"both wrong user", both, "admin", testPass, good, false},
		{"both missing basic", both, "-", "", good, false},
		{"both empty password", both, testUser, "", good, false},
		{"basic only right", basicOnly, testUser, testPass, "-", true},
		{"basic only ignores signature", basicOnly, testUser, testPass, "00", true},
		{"basic only wrong", basicOnly, testUser, testPass + "x", "-", false},
		{"basic only missing", basicOnly, "-", "", good, false},
		{"hmac only right", hmacOnly, "-", "", good, true},
		{"hmac only any basic", hmacOnly, "someone", "else", good, true},
		{"hmac only wrong", hmacOnly, "-", "", sign(testSecret+"x", fx.body), false},
		{"hmac only missing", hmacOnly, "-", "", "-", false},
		{"rotated password and secret", rotated, testUser, testPass, good, true},
		{"rotated new", rotated, testUser, "pw-new", sign("sinch-hmac-new", fx.body), true},
		{"nothing configured", none, testUser, testPass, good, false},
		{"blank secrets", blank, "-", "", sign("", fx.body), false},
		{"insecure", insecure, "-", "", "-", true},
		{"insecure with secret enforces", insecureWithSecret, "-", "", "-", false},
		{"insecure with secret right", insecureWithSecret, "-", "", good, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest(t, inboundPath, fx.contentType)
			if tt.user != "-" {
				r.SetBasicAuth(tt.user, tt.pass)
			}
			if tt.sig != "-" {
				r.Header.Set(SignatureHeader, tt.sig)
			}
			err := tt.p.VerifyWebhook(r, fx.body)
			if tt.ok {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			providertest.WantCode(t, err, fax.ECodeUnauthorized)
			for _, secret := range []string{testSecret, testPass, good} {
				if strings.Contains(strings.ToLower(err.Error()), secret) {
					t.Errorf("error %q reveals a secret or an expected signature", err)
				}
			}
		})
	}
}

func TestVerifyTamperedBody(t *testing.T) {
	p := mustNew(t, Config{HMACSecrets: []string{testSecret}})
	for _, fx := range loadFixtures(t) {
		sig := sign(testSecret, fx.body)
		for _, i := range []int{0, len(fx.body) / 2, len(fx.body) - 1} {
			tampered := []byte(string(fx.body))
			tampered[i] ^= 1
			r := newRequest(t, fx.target(), fx.contentType)
			r.Header.Set(SignatureHeader, sig)
			providertest.WantCode(t, p.VerifyWebhook(r, tampered), fax.ECodeUnauthorized)
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for success
	}{
		{"zero", Config{}, ""},
		{"full", Config{ProjectID: "p", KeyID: "k", KeySecret: "s", BaseURL: "https://use1.fax.api.sinch.com/", InboundBasicUser: "u", InboundBasicPass: []string{"a", "b"}, HMACSecrets: []string{"h"}}, ""},
		{"user without password", Config{InboundBasicUser: "u"}, "SINCH_INBOUND_BASIC_PASS"},
		{"user with blank password", Config{InboundBasicUser: "u", InboundBasicPass: []string{" "}}, "SINCH_INBOUND_BASIC_PASS"},
		{"password without user", Config{InboundBasicPass: []string{"p"}}, "SINCH_INBOUND_BASIC_USER"},
		{"user with colon", Config{InboundBasicUser: "a:b", InboundBasicPass: []string{"p"}}, "SINCH_INBOUND_BASIC_USER"},
		{"bad base url", Config{BaseURL: "fax.api.sinch.com"}, "SINCH_BASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				if p.baseURL == "" || strings.HasSuffix(p.baseURL, "/") {
					t.Errorf("got baseURL %q, want set without a trailing slash", p.baseURL)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error naming %s", err, tt.want)
			}
		})
	}
}
