package gofax

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/faxgate/faxgate/internal/fax"
)

// MaxDocumentSize bounds a received fax's decoded document. A fax of a
// few hundred pages fits; a response past it is refused, not truncated.
const MaxDocumentSize = 50 << 20

// StatusError is a non-2xx answer from GoFax's API. Callers tell a
// permanent failure from a passing one with errors.As and Permanent.
type StatusError struct {
	StatusCode int
	// Message says what the status means for faxgate; it never holds the
	// token or the URL.
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("gofax: %s (HTTP %d)", e.Message, e.StatusCode)
}

// Permanent reports whether trying again cannot help: any 4xx except 408
// (timeout) and 429 (rate limited).
func (e *StatusError) Permanent() bool {
	return e.StatusCode >= 400 && e.StatusCode < 500 && e.StatusCode != http.StatusRequestTimeout && e.StatusCode != http.StatusTooManyRequests
}

// FetchReceived downloads a received fax's document, which a fax-received
// webhook only names (Document.FetchID), with GET
// /v1.0/ReceiveFax/{faxId}/Document. GoFax answers base64, either as a JSON
// string or as bare text; both are accepted. The first GOFAX_TOKEN is used.
// A nil client means http.DefaultClient; ctx bounds the whole download.
//
// Errors never include the token: a rejected token is a *StatusError saying
// so, a document past MaxDocumentSize is a *fax.Error too_large.
func (p *Provider) FetchReceived(ctx context.Context, client *http.Client, faxID string) ([]byte, error) {
	if faxID == "" || !validID(faxID) {
		return nil, fax.Errorf(fax.ECodeInvalid, "GoFax fax id must be 1 to %d printable characters without spaces", maxIDLen)
	}
	if client == nil {
		client = http.DefaultClient
	}
	path := "/v1.0/ReceiveFax/" + url.PathEscape(faxID) + "/Document"
	q := url.Values{"token": {p.tokens[0]}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("gofax: fetch received fax: build request: %w", redact(err, p.baseURL+path))
	}
	req.Header.Set("Accept", "application/json, text/plain")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("gofax: fetch received fax: %w", redact(err, p.baseURL+path))
	}
	defer resp.Body.Close()

	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		drain(resp.Body)
		return nil, &StatusError{StatusCode: resp.StatusCode, Message: "GoFax rejected the API token: check GOFAX_TOKEN"}
	case resp.StatusCode == http.StatusNotFound:
		drain(resp.Body)
		return nil, &StatusError{StatusCode: resp.StatusCode, Message: "GoFax has no received fax " + faxID}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		drain(resp.Body)
		return nil, &StatusError{StatusCode: resp.StatusCode, Message: "GoFax refused the received fax download"}
	}

	// Base64 grows 4/3; a JSON string may also escape '/' as "\/".
	enc := base64.StdEncoding.EncodedLen(MaxDocumentSize)
	limit := int64(enc + enc/16 + 4096)
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("gofax: fetch received fax: read: %w", redact(err, p.baseURL+path))
	}
	if int64(len(raw)) > limit {
		return nil, tooLarge()
	}
	return decodeDocument(raw)
}

// decodeDocument turns GoFax's response body (a JSON string or bare base64)
// into the document's bytes.
func decodeDocument(raw []byte) ([]byte, error) {
	text := bytes.TrimSpace(raw)
	if len(text) > 0 && text[0] == '"' {
		var s string
		if err := json.Unmarshal(text, &s); err != nil {
			return nil, fmt.Errorf("gofax: fetch received fax: response is not a JSON string")
		}
		text = bytes.TrimSpace([]byte(s))
	} else if len(text) > 0 && (text[0] == '{' || text[0] == '[') {
		return nil, fmt.Errorf("gofax: fetch received fax: response is JSON but not a base64 string")
	}
	// StdEncoding skips CR and LF itself; other padding styles are tried
	// before giving up.
	var doc []byte
	var err error
	for _, e := range [...]*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		doc = make([]byte, e.DecodedLen(len(text)))
		var n int
		if n, err = e.Decode(doc, text); err == nil {
			doc = doc[:n]
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("gofax: fetch received fax: response is not base64")
	}
	if len(doc) == 0 {
		return nil, fmt.Errorf("gofax: fetch received fax: the document is empty")
	}
	if len(doc) > MaxDocumentSize {
		return nil, tooLarge()
	}
	return doc, nil
}

func tooLarge() error {
	return fmt.Errorf("gofax: fetch received fax: %w",
		fax.Errorf(fax.ECodeTooLarge, "the received document is larger than %d MB", MaxDocumentSize>>20))
}

// redact replaces the URL in a transport error, which would otherwise carry
// the API token in its query, with the URL's path alone.
func redact(err error, safeURL string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: safeURL, Err: ue.Err}
	}
	return err
}

// drain reads a little of an error body so the connection can be reused.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<10)) }
