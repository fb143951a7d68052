package client

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Errors of webhook verification; match them with errors.Is.
var (
	// ErrWebhookHeaders is a delivery without the Standard Webhooks headers.
	ErrWebhookHeaders = errors.New("client: webhook-id, webhook-timestamp or webhook-signature header missing")
	// ErrWebhookTimestamp is a delivery signed too long ago or ahead: a
	// possible replay.
	ErrWebhookTimestamp = errors.New("client: webhook-timestamp is outside the tolerance")
	// ErrWebhookSignature is a delivery no secret signed.
	ErrWebhookSignature = errors.New("client: no webhook signature matches")
)

// DefaultTolerance is how far a webhook-timestamp may be from the
// receiver's clock either way, the Standard Webhooks libraries' value.
const DefaultTolerance = 5 * time.Minute

// maxWebhookBody bounds the body Receive reads: a received fax's PDF may ride
// in a Phaxio-format delivery, but a JSON event is small.
const maxWebhookBody = 64 << 20

// Verifier checks faxgate's Standard Webhooks signatures. Give it every
// secret in use: during a rotation the gateway signs with the old and the
// new one, and a receiver holding either accepts the delivery.
type Verifier struct {
	keys [][]byte
	// Tolerance is the accepted clock difference (default DefaultTolerance).
	Tolerance time.Duration
	// Now is the receiver's clock (default time.Now).
	Now func() time.Time
}

// NewVerifier returns a Verifier for secrets, each "whsec_" and base64 as
// the gateway shows them.
func NewVerifier(secrets ...string) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, errors.New("client: a webhook secret is required")
	}
	v := &Verifier{}
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil || len(key) == 0 {
			return nil, errors.New(`client: a webhook secret is "whsec_" followed by standard base64`)
		}
		v.keys = append(v.keys, key)
	}
	return v, nil
}

// Verify checks the headers and raw body of one delivery: the three headers
// present, the timestamp within the tolerance, and a "v1," signature made
// with one of the secrets, compared in constant time.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	id, ts, sigs := header(h, "webhook-id"), header(h, "webhook-timestamp"), header(h, "webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return ErrWebhookHeaders
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrWebhookTimestamp
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	tol := int64(cmp.Or(v.Tolerance, DefaultTolerance) / time.Second)
	if d := now().Unix() - unix; d > tol || d < -tol {
		return ErrWebhookTimestamp
	}
	for _, key := range v.keys {
		m := hmac.New(sha256.New, key)
		fmt.Fprintf(m, "%s.%d.", id, unix)
		m.Write(body)
		want := []byte(base64.StdEncoding.EncodeToString(m.Sum(nil)))
		for _, entry := range strings.Split(sigs, " ") {
			version, sig, ok := strings.Cut(entry, ",")
			if ok && version == "v1" && hmac.Equal([]byte(sig), want) {
				return nil
			}
		}
	}
	return ErrWebhookSignature
}

// Receive reads, verifies and decodes a JSON-format delivery. Answer 2xx
// when it returns no error; anything else makes the gateway retry.
func (v *Verifier) Receive(r *http.Request) (*WebhookEvent, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody))
	if err != nil {
		return nil, fmt.Errorf("client: read the webhook: %w", err)
	}
	if err := v.Verify(r.Header, body); err != nil {
		return nil, err
	}
	return ParseWebhookEvent(body)
}

// header reads a header whatever the case of its key.
func header(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// WebhookEvent is a JSON-format delivery: {"id","type","created_at",
// "api_version","data"}.
type WebhookEvent struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	CreatedAt  time.Time       `json:"created_at"`
	APIVersion string          `json:"api_version"`
	Data       json.RawMessage `json:"data"`
}

// ParseWebhookEvent decodes a delivery's body; verify it first.
func ParseWebhookEvent(body []byte) (*WebhookEvent, error) {
	var e WebhookEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("client: webhook body: %w", err)
	}
	if e.ID == "" || e.Type == "" {
		return nil, errors.New("client: webhook body has no id or type")
	}
	return &e, nil
}

// Fax decodes the data of a fax.* event: the fax, and the page or retry
// count of the inflight events that carry one.
func (e *WebhookEvent) Fax() (*FaxEventData, error) {
	if !strings.HasPrefix(e.Type, "fax.") {
		return nil, fmt.Errorf("client: a %s event carries no fax", e.Type)
	}
	var d FaxEventData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return nil, fmt.Errorf("client: %s data: %w", e.Type, err)
	}
	return &d, nil
}

// SMS decodes the data of an sms.* event.
func (e *WebhookEvent) SMS() (*SMS, error) {
	if !strings.HasPrefix(e.Type, "sms.") {
		return nil, fmt.Errorf("client: a %s event carries no SMS", e.Type)
	}
	var d SMS
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return nil, fmt.Errorf("client: %s data: %w", e.Type, err)
	}
	return &d, nil
}

// VerifyPhaxio checks X-Phaxio-Signature of a Phaxio-format delivery
// (endpoint format "phaxio"): the hex HMAC-SHA1, keyed with the endpoint's
// secret as the token, of callbackURL as registered (without userinfo)
// followed by the form fields sorted by name as name+value and the files
// sorted by name as name+hex(SHA-1). Any of tokens may match.
func VerifyPhaxio(tokens []string, callbackURL string, h http.Header, body []byte) error {
	got, err := hex.DecodeString(h.Get("X-Phaxio-Signature"))
	if err != nil || len(got) != sha1.Size {
		return ErrWebhookSignature
	}
	_, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return fmt.Errorf("client: a Phaxio-format delivery is multipart/form-data")
	}
	type part struct {
		name  string
		value []byte
		file  bool
	}
	var parts []part
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("client: Phaxio-format body: %w", err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return fmt.Errorf("client: Phaxio-format body: %w", err)
		}
		pt := part{name: p.FormName(), value: b, file: p.FileName() != ""}
		if pt.file {
			sum := sha1.Sum(b)
			pt.value = []byte(hex.EncodeToString(sum[:]))
		}
		parts = append(parts, pt)
	}
	slices.SortStableFunc(parts, func(a, b part) int {
		if a.file != b.file {
			if a.file {
				return 1
			}
			return -1
		}
		return strings.Compare(a.name, b.name)
	})
	for _, token := range tokens {
		m := hmac.New(sha1.New, []byte(token))
		m.Write([]byte(callbackURL))
		for _, p := range parts {
			m.Write([]byte(p.name))
			m.Write(p.value)
		}
		if hmac.Equal(m.Sum(nil), got) {
			return nil
		}
	}
	return ErrWebhookSignature
}

// readAll reads a bounded non-JSON answer.
func readAll(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxJSON))
	if err != nil {
		return nil, fmt.Errorf("client: read the answer: %w", err)
	}
	return b, nil
}
