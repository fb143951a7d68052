package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Standard Webhooks header names, as the spec writes them. Header names are
// case-insensitive: net/http sends them canonicalised (Webhook-Id).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix marks a Standard Webhooks secret; the base64 after it is the
// HMAC key.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a webhook-timestamp may be from the verifier's
// clock, either way, before Verify rejects the message as a possible replay.
// It is the Standard Webhooks libraries' value.
const DefaultTolerance = 5 * time.Minute

// secretBytes is the size of the key NewSecret makes: 256 bits, the block of
// security SHA-256 offers, within the spec's 24 to 64 bytes.
const secretBytes = 32

// NewSecret returns a fresh endpoint signing secret, "whsec_" followed by the
// standard base64 of 32 random bytes, in the form every Standard Webhooks
// library accepts.
func NewSecret() string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(fax.RandomToken(secretBytes))
}

// secretKey decodes a "whsec_<base64>" secret to its HMAC key. A secret
// without the prefix is accepted as the spec's libraries do.
func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, fax.Errorf(fax.ECodeInvalid, "webhook secret must be %q followed by standard base64", SecretPrefix)
	}
	return key, nil
}

// mac is HMAC-SHA256 over "id.timestamp.body", the Standard Webhooks signed
// content.
func mac(key []byte, msgID string, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	var ts [20]byte
	h.Write([]byte(msgID))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(ts[:0], unix, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Sign returns the Standard Webhooks signature of body sent as message msgID
// at ts: "v1," followed by the base64 HMAC-SHA256 of "msgID.unix(ts).body"
// keyed with the decoded secret. An undecodable secret is an *fax.Error with
// code invalid, which no retry can fix.
func Sign(secret string, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, msgID, ts.Unix(), body)), nil
}

// SignatureHeader returns the webhook-signature value for every secret in
// secrets, space-separated, so that during a rotation a receiver holding
// either the old or the new secret finds a signature it can check.
func SignatureHeader(secrets []string, msgID string, ts time.Time, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", fax.Errorf(fax.ECodeInvalid, "webhook endpoint has no signing secret")
	}
	var b strings.Builder
	for i, s := range secrets {
		if s == "" {
			return "", fax.Errorf(fax.ECodeInvalid, "webhook endpoint has no signing secret")
		}
		sig, err := Sign(s, msgID, ts, body)
		if err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(sig)
	}
	return b.String(), nil
}

// SetHeaders writes the three Standard Webhooks headers of a message onto h.
func SetHeaders(h http.Header, secrets []string, msgID string, ts time.Time, body []byte) error {
	sig, err := SignatureHeader(secrets, msgID, ts, body)
	if err != nil {
		return err
	}
	h.Set(HeaderID, msgID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, sig)
	return nil
}

// headerValue reads a header whatever case its key was stored under:
// http.Header.Get only finds canonical keys, and a header map built by hand
// from another framework's request may hold the spec's lower-case ones.
func headerValue(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Verify checks a received message the way a receiver should, for users
// writing one in Go and for faxgate's own tests: the three headers must be
// present, webhook-timestamp within tolerance of now (DefaultTolerance when
// tolerance is not positive), and at least one "v1," entry of
// webhook-signature must match body signed with secret. Entries of other
// versions are ignored. The error is an *fax.Error with code unauthorized,
// or invalid when the secret itself cannot be decoded.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	msgID := headerValue(h, HeaderID)
	tsText := headerValue(h, HeaderTimestamp)
	sigs := headerValue(h, HeaderSignature)
	if msgID == "" || tsText == "" || sigs == "" {
		return fax.Errorf(fax.ECodeUnauthorized, "missing webhook-id, webhook-timestamp or webhook-signature header")
	}
	unix, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fax.Errorf(fax.ECodeUnauthorized, "webhook-timestamp is not a number of seconds")
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	// Compare in seconds: converting an arbitrary int64 to time.Duration could
	// overflow.
	tol := int64(tolerance / time.Second)
	if d := now.Unix() - unix; d > tol || d < -tol {
		return fax.Errorf(fax.ECodeUnauthorized, "webhook-timestamp is outside the tolerance")
	}
	// Compare the base64 text, as the spec's libraries do: only the
	// canonical encoding of the MAC matches. (Decoding first would accept
	// variants: even a strict decoder skips CR and LF inside the text.)
	want := []byte(base64.StdEncoding.EncodeToString(mac(key, msgID, unix, body)))
	for _, entry := range strings.Split(sigs, " ") {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		if hmac.Equal([]byte(sig), want) {
			return nil
		}
	}
	return fax.Errorf(fax.ECodeUnauthorized, "no webhook-signature entry matches the body")
}
