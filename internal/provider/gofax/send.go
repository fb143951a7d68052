package gofax

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// API paths faxgate submits to (GoFax's REST API, v1.0).
const (
	SendFaxPath = "/v1.0/SendFax"
	SMSPath     = "/v1.0/SMS"
)

// MaxSMSLength is the longest SMS text SendSMS accepts, in characters: ten
// concatenated parts of 160.
const MaxSMSLength = 1600

// Bounds on what faxgate reads back from GoFax.
const (
	maxResponseLen  = 1 << 20 // a JSON answer; real ones are under 1 KB
	maxCarrierShown = 300     // bytes of GoFax's own words kept in a Failure
)

// sendFaxRequest is PUT /v1.0/SendFax's body.
type sendFaxRequest struct {
	SendTo      string         `json:"SendTo"`
	Documents   []sendDocument `json:"Documents"`
	CallbackURL string         `json:"CallbackURL,omitempty"`
}

type sendDocument struct {
	Filename string `json:"Filename"`
	Data     string `json:"Data"`
}

// smsRequest is PUT /v1.0/SMS's body, as GoFax's SMS guide documents it: a
// list of recipients and the text as Body. The sender id (From) is left to
// the account's default.
type smsRequest struct {
	To   []string `json:"To"`
	Body string   `json:"Body"`
}

// envelope is the answer every GoFax API call wraps its result in:
// {"Success":true,"Message":null,"ValidationErrors":null,"Response":100597945}.
type envelope struct {
	Success          *bool           `json:"Success"`
	Message          *string         `json:"Message"`
	ValidationErrors json.RawMessage `json:"ValidationErrors"`
	Response         json.RawMessage `json:"Response"`
}

// SendProblem says why Send cannot work, naming the settings to fix, or ""
// when it can. New already insists on GOFAX_TOKEN, so a GoFax carrier can
// always send; without FAXGATE_PUBLIC_URL the account-level fax-sent
// webhook (set in GoFax's portal) reports results instead of a per-fax
// CallbackURL.
func (p *Provider) SendProblem() string { return "" }

// Send submits a fax with PUT /v1.0/SendFax and returns GoFax's send id (the
// ID its fax-sent webhook reports). The CallbackURL names the fax and
// carries its callback token when FAXGATE_PUBLIC_URL is set and the fax has
// a token; otherwise GoFax's account-level webhook reports the result.
//
// Errors are *fax.SendError: nothing sent (connection refused, 408, 429,
// 503 with a Retry-After; see carrier.NotTaken) is retryable; a refusal
// (other 4xx, a 2xx with Success false or ValidationErrors) is permanent,
// with a Failure keeping GoFax's words; a timeout or a dropped connection
// after the request was written, any other 5xx, or a 2xx that cannot be
// read is ambiguous, since GoFax may have queued the fax. No error text
// holds the API token.
func (p *Provider) Send(ctx context.Context, job *fax.DispatchJob, doc []byte) (string, error) {
	if job == nil || job.Fax == nil {
		return "", &fax.SendError{Outcome: fax.SendPermanent, Err: errors.New("gofax: send: no fax")}
	}
	f := job.Fax
	to, err := fax.ParseNumber(f.To)
	if err != nil {
		return "", permanent(&fax.Failure{Code: fax.FailGeneral, Message: "The destination is not a valid E.164 number."},
			fmt.Errorf("gofax: send: %w", err))
	}
	if len(doc) == 0 {
		return "", permanent(&fax.Failure{Code: fax.FailDocument, Message: "The document is empty."},
			errors.New("gofax: send: empty document"))
	}
	req := sendFaxRequest{
		// GoFax takes E.164 digits without the plus ("61755550123").
		SendTo:    strings.TrimPrefix(string(to), "+"),
		Documents: []sendDocument{{Filename: documentName(f, doc), Data: base64.StdEncoding.EncodeToString(doc)}},
	}
	if f.CallbackToken != "" {
		req.CallbackURL = p.CallbackURL(f.ID, f.CallbackToken)
	}
	return p.submit(ctx, "send fax", SendFaxPath, req)
}

// SendSMS submits an SMS with PUT /v1.0/SMS and returns GoFax's message id.
// id is faxgate's id for the message, used in error text only: GoFax's SMS
// API documents no per-message callback URL, so results come back through
// the account-level SMS webhook (configured in GoFax's portal to
// FAXGATE_PUBLIC_URL + /gofax-sms-callback, with Basic auth), which the
// ingest layer matches by the returned id.
//
// Invalid input (a number that is not E.164, an empty text or one longer
// than MaxSMSLength characters) is a *fax.Error with code invalid; GoFax's
// answers are classified as for Send.
func (p *Provider) SendSMS(ctx context.Context, id, to, text string) (string, error) {
	if !validID(id) || id == "" {
		return "", fax.Errorf(fax.ECodeInvalid, "the SMS id must be 1 to %d printable characters without spaces", maxIDLen)
	}
	num, err := fax.ParseNumber(to)
	if err != nil {
		return "", err
	}
	switch n := utf8.RuneCountInString(text); {
	case !utf8.ValidString(text):
		return "", fax.Errorf(fax.ECodeInvalid, "the SMS text must be valid UTF-8")
	case strings.TrimSpace(text) == "":
		return "", fax.Errorf(fax.ECodeInvalid, "the SMS text is empty")
	case n > MaxSMSLength:
		return "", fax.Errorf(fax.ECodeInvalid, "the SMS text has %d characters; at most %d are allowed", n, MaxSMSLength)
	}
	req := smsRequest{To: []string{strings.TrimPrefix(string(num), "+")}, Body: text}
	return p.submit(ctx, "send sms "+id, SMSPath, req)
}

// documentName is the Filename GoFax sees: the fax id with the extension of
// what the bytes are, since GoFax converts by extension.
func documentName(f *fax.Fax, doc []byte) string {
	ext := ".pdf"
	switch {
	case bytes.HasPrefix(doc, []byte("%PDF")):
	case bytes.HasPrefix(doc, []byte("II*\x00")), bytes.HasPrefix(doc, []byte("MM\x00*")):
		ext = ".tif"
	case f.DocumentType == "text/plain":
		ext = ".txt"
	}
	name := f.ID
	if name == "" || !validID(name) || strings.ContainsAny(name, `/\`) {
		name = "fax"
	}
	return name + ext
}

// submit PUTs body to path and returns the id in GoFax's answer.
func (p *Provider) submit(ctx context.Context, what, path string, body any) (string, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return "", &fax.SendError{Outcome: fax.SendPermanent, Err: fmt.Errorf("gofax: %s: encode: %w", what, err)}
	}
	safeURL := p.baseURL + path
	q := url.Values{"token": {p.tokens[0]}}

	req, err := http.NewRequestWithContext(ctx, http.MethodPut, safeURL+"?"+q.Encode(), bytes.NewReader(payload))
	if err != nil {
		return "", &fax.SendError{Outcome: fax.SendPermanent, Err: p.scrub(fmt.Errorf("gofax: %s: build request: %w", what, redact(err, safeURL)))}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	// Whether the whole request went out decides between "not taken"
	// (retryable) and "maybe taken" (ambiguous) when the exchange fails.
	var wrote atomic.Bool
	a, err := carrier.Call(p.client, req, &wrote, maxResponseLen)
	if err != nil {
		err = p.scrub(fmt.Errorf("gofax: %s: %w", what, redact(err, safeURL)))
		if wrote.Load() {
			return "", &fax.SendError{Outcome: fax.SendAmbiguous, Err: err}
		}
		return "", &fax.SendError{Outcome: fax.SendRetryable, Err: err}
	}
	if errors.Is(a.ReadErr, carrier.ErrTooLarge) {
		a.ReadErr = fmt.Errorf("answer longer than %d bytes", maxResponseLen)
	}
	if a.ReadErr != nil {
		a.ReadErr = p.scrub(redact(a.ReadErr, safeURL))
	}
	return p.classify(what, a)
}

// classify turns GoFax's answer into the submitted id or a *fax.SendError.
func (p *Provider) classify(what string, a *carrier.Answer) (string, error) {
	code, raw, readErr := a.Status, a.Body, a.ReadErr
	fail := func(outcome fax.SendOutcome, msg string) *fax.SendError {
		return &fax.SendError{Outcome: outcome, Err: fmt.Errorf("gofax: %s: %s (HTTP %d)", what, msg, code)}
	}
	switch {
	case code >= 200 && code <= 299:
		if readErr != nil {
			se := fail(fax.SendAmbiguous, "GoFax's answer could not be read")
			se.Err = fmt.Errorf("%w: %w", se.Err, readErr)
			return "", se
		}
		env, err := decodeEnvelope(raw)
		if err != nil {
			return "", fail(fax.SendAmbiguous, "GoFax's answer is not the JSON it documents")
		}
		words := env.words()
		switch {
		case env.Success != nil && *env.Success:
			if id, ok := responseID(env.Response); ok {
				return id, nil
			}
			return "", fail(fax.SendAmbiguous, "GoFax reported success without an id")
		case env.Success != nil || env.hasValidationErrors():
			if words == "" {
				words = "GoFax reported Success false"
			}
			return "", p.refusal(fail(fax.SendPermanent, "GoFax refused the request"), words)
		}
		return "", fail(fax.SendAmbiguous, "GoFax's answer has no Success field")
	case code == http.StatusUnauthorized:
		se := fail(fax.SendPermanent, "GoFax refused the token")
		se.Failure = &fax.Failure{Code: fax.FailCarrier, Message: "GoFax refused the token: check GOFAX_TOKEN",
			CarrierType: "http", CarrierCode: strconv.Itoa(code)}
		return "", se
	case carrier.NotTaken(code, a.Header):
		se := fail(fax.SendRetryable, "GoFax asked to try later")
		se.RetryAfter = carrier.RetryAfter(a.Header.Get("Retry-After"), time.Now())
		return "", se
	case code >= 400 && code <= 499:
		words := ""
		if env, err := decodeEnvelope(raw); err == nil {
			words = env.words()
		}
		if words == "" {
			words = strings.TrimSpace(http.StatusText(code))
		}
		return "", p.refusal(fail(fax.SendPermanent, "GoFax refused the request"), words)
	case code >= 500 && code <= 599:
		// A proxy giving up on GoFax, or GoFax failing after it queued
		// the fax: it may have taken it.
		return "", fail(fax.SendAmbiguous, "GoFax answered with a server error and may have taken the fax")
	case code >= 300 && code <= 399:
		se := fail(fax.SendPermanent, "GoFax answered with a redirect")
		se.Failure = &fax.Failure{Code: fax.FailCarrier, Message: "GoFax answered with a redirect: check GOFAX_BASE_URL",
			CarrierType: "http", CarrierCode: strconv.Itoa(code)}
		return "", se
	}
	return "", fail(fax.SendAmbiguous, "GoFax answered with an unexpected status")
}

// refusal attaches a user-facing Failure built from GoFax's words to se.
func (p *Provider) refusal(se *fax.SendError, words string) *fax.SendError {
	words = carrier.Clip(p.scrubText(words), maxCarrierShown)
	code := failureCode(words)
	msg := "GoFax refused the fax: " + words
	if code != fax.FailCarrier {
		msg = carrier.FailureMessage(code, "GoFax reported the fax as not sent.")
	}
	se.Failure = &fax.Failure{Code: code, Message: msg, CarrierType: "api", CarrierMessage: words}
	se.Err = fmt.Errorf("%w: %s", se.Err, words)
	return se
}

// decodeEnvelope reads GoFax's JSON answer; anything but an object fails.
func decodeEnvelope(raw []byte) (*envelope, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, err
	}
	return &env, nil
}

func (e *envelope) hasValidationErrors() bool {
	v := bytes.TrimSpace(e.ValidationErrors)
	return len(v) > 0 && !bytes.Equal(v, []byte("null")) && !bytes.Equal(v, []byte("[]")) && !bytes.Equal(v, []byte("{}"))
}

// words is what GoFax said: its Message and every text in ValidationErrors
// (whose shape GoFax does not document: a list of strings, of objects, or a
// map are all read), joined and bounded.
func (e *envelope) words() string {
	var parts []string
	if e.Message != nil && strings.TrimSpace(*e.Message) != "" {
		parts = append(parts, strings.TrimSpace(*e.Message))
	}
	if e.hasValidationErrors() {
		var v any
		if err := json.Unmarshal(e.ValidationErrors, &v); err == nil {
			parts = appendTexts(parts, "", v, 0)
		}
	}
	return carrier.Clip(strings.Join(parts, "; "), maxCarrierShown)
}

// appendTexts collects the strings in a decoded JSON value, each prefixed
// with the key that holds it when that key names a field, stopping at a
// depth and count that no real answer reaches.
func appendTexts(out []string, key string, v any, depth int) []string {
	if depth > 4 || len(out) >= 10 {
		return out
	}
	switch t := v.(type) {
	case string:
		if s := strings.TrimSpace(t); s != "" {
			if key != "" && !strings.EqualFold(key, "message") && !strings.EqualFold(key, "errormessage") {
				s = key + ": " + s
			}
			out = append(out, s)
		}
	case []any:
		for _, e := range t {
			out = appendTexts(out, key, e, depth+1)
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = appendTexts(out, k, t[k], depth+1)
		}
	}
	return out
}

// responseID reads the id in Response: a JSON number (100597945) or string.
func responseID(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	var id string
	switch {
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &id); err != nil {
			return "", false
		}
		id = strings.TrimSpace(id)
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", false
		}
		if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
			return "", false
		}
		id = n.String()
	default:
		return "", false
	}
	if id == "" || id == "0" || !validID(id) {
		return "", false
	}
	return id, true
}

// permanent is a refusal decided before anything was sent.
func permanent(fl *fax.Failure, err error) *fax.SendError {
	return &fax.SendError{Outcome: fax.SendPermanent, Failure: fl, Err: err}
}

// scrub is the last guard against a token in error text: redact handles
// url.Error, but any other error quoting the URL loses its chain rather
// than leak a token.
func (p *Provider) scrub(err error) error {
	if err == nil {
		return nil
	}
	if msg := err.Error(); p.scrubText(msg) != msg {
		return errors.New(p.scrubText(msg))
	}
	return err
}

// scrubText replaces any API token in s, plain or query-escaped.
func (p *Provider) scrubText(s string) string {
	for _, t := range p.tokens {
		s = strings.ReplaceAll(s, t, "REDACTED")
		s = strings.ReplaceAll(s, url.QueryEscape(t), "REDACTED")
	}
	return s
}
