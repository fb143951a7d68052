package phaxio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// SignatureHeader carries both of Phaxio's webhook signatures.
const SignatureHeader = "X-Phaxio-Signature"

// Sign computes Phaxio's documented webhook signature: the lowercase hex
// HMAC-SHA1, keyed with the webhook token, of the callback URL followed by
// each form field sorted by name as name+value and then each file part sorted
// by name as name+hex(SHA-1 of its bytes). Values of one name keep their
// order. faxgate verifies Phaxio's webhooks with it and signs its own
// Phaxio-format webhooks to users with it.
func Sign(token, callbackURL string, fields map[string][]string, files map[string][][]byte) string {
	f := &carrier.Form{}
	for name, vs := range fields {
		for _, v := range vs {
			f.Parts = append(f.Parts, carrier.Part{Name: name, Value: []byte(v)})
		}
	}
	for name, bs := range files {
		for _, b := range bs {
			f.Parts = append(f.Parts, carrier.Part{Name: name, Value: b, File: true})
		}
	}
	f.Sort()
	m := hmac.New(sha1.New, []byte(token))
	m.Write(appendSigned([]byte(callbackURL), f))
	return hex.EncodeToString(m.Sum(nil))
}

// appendSigned appends the form part of Phaxio's signed string; f must be
// sorted.
func appendSigned(dst []byte, f *carrier.Form) []byte {
	for i := range f.Parts {
		p := &f.Parts[i]
		dst = append(dst, p.Name...)
		if p.File {
			sum := sha1.Sum(p.Value)
			dst = hex.AppendEncode(dst, sum[:])
		} else {
			dst = append(dst, p.Value...)
		}
	}
	return dst
}

// VerifyWebhook checks X-Phaxio-Signature and fails closed. A 40-digit value
// is Phaxio's HMAC-SHA1 scheme keyed with any webhook token, over the public
// callback URL (FAXGATE_PUBLIC_URL, the request's path and raw query: never
// the Host header) and the form body. A 64-digit value is the HMAC-SHA256 of
// the raw body keyed with any API secret. Hex digits may be upper case.
//
// A JSON body verifies only by HMAC-SHA256: Phaxio itself always posts
// forms, and the SHA-1 scheme would cover the URL but none of a JSON body,
// so accepting it would let one captured signature authorise any body.
//
// With no token or secret configured every webhook is refused, unless
// Config.Insecure accepts them all. Errors are *fax.Error with code
// unauthorized and never include secrets or expected signatures.
func (p *Provider) VerifyWebhook(r *http.Request, body []byte) error {
	_, err := p.verify(r, body)
	return err
}

// VerifyCallback is VerifyWebhook for /phaxio-callback?job_id=…. When the
// raw-body HMAC-SHA256 scheme is what verified, the signature does not
// cover the URL, so the body must also name the fax (fax.id) and that must
// be the Phaxio id recorded for job_id (Config.CarrierIDFunc); otherwise a
// signed body could be replayed to any job.
func (p *Provider) VerifyCallback(r *http.Request, body []byte) error {
	bodyOnly, err := p.verify(r, body)
	if err != nil || !bodyOnly {
		return err
	}
	id := ""
	if ev, err := readEvent(r, body); err == nil {
		id = ev.Fax.ID.String()
	}
	return carrier.BindJob(r.Context(), p.carrierID, "Phaxio", strings.TrimSpace(r.URL.Query().Get("job_id")), id)
}

// verify checks the signature, reporting whether the raw-body scheme (the
// one that does not cover the URL) is what verified.
func (p *Provider) verify(r *http.Request, body []byte) (bodyOnly bool, err error) {
	if len(p.secrets) == 0 && len(p.tokens) == 0 {
		if p.insecure {
			return false, nil
		}
		return false, fax.Errorf(fax.ECodeUnauthorized, "phaxio webhook verification is not configured")
	}
	h := strings.TrimSpace(r.Header.Get(SignatureHeader))
	if h == "" {
		return false, fax.Errorf(fax.ECodeUnauthorized, "missing %s header", SignatureHeader)
	}
	var sig [sha256.Size]byte
	n, ok := carrier.DecodeHex(sig[:], h)
	switch {
	case ok && n == sha256.Size && p.verifyBody(sig[:n], body):
		return true, nil
	case ok && n == sha1.Size && p.verifyForm(r, body, sig[:n]):
		return false, nil
	}
	return false, fax.Errorf(fax.ECodeUnauthorized, "%s does not match", SignatureHeader)
}

func (p *Provider) verifyBody(sig, body []byte) bool {
	var sum [sha256.Size]byte
	for _, k := range p.secrets {
		m := hmac.New(sha256.New, k)
		m.Write(body)
		if hmac.Equal(m.Sum(sum[:0]), sig) {
			return true
		}
	}
	return false
}

func (p *Provider) verifyForm(r *http.Request, body, sig []byte) bool {
	if len(p.tokens) == 0 {
		return false
	}
	kind, boundary, err := kindOf(r.Header.Get("Content-Type"), body)
	if err != nil || kind == carrier.KindJSON {
		return false
	}
	f, err := parseForm(kind, boundary, body)
	if err != nil {
		return false
	}
	path, query := r.URL.EscapedPath(), r.URL.RawQuery
	size := len(p.publicURL) + len(path) + 1 + len(query)
	for i := range f.Parts {
		size += len(f.Parts[i].Name) + 2*sha1.Size
		if !f.Parts[i].File {
			size += len(f.Parts[i].Value)
		}
	}
	msg := make([]byte, 0, size)
	msg = append(msg, p.publicURL...)
	msg = append(msg, path...)
	if query != "" {
		msg = append(msg, '?')
		msg = append(msg, query...)
	}
	msg = appendSigned(msg, f)
	var sum [sha1.Size]byte
	for _, k := range p.tokens {
		m := hmac.New(sha1.New, k)
		m.Write(msg)
		if hmac.Equal(m.Sum(sum[:0]), sig) {
			return true
		}
	}
	return false
}

// PreverifyWebhook refuses, before the body is read, a webhook that
// VerifyWebhook would refuse whatever its body: verification not
// configured, or X-Phaxio-Signature missing or of no shape a configured
// scheme produces. Both schemes sign the body, so it never reports a
// webhook authenticated.
func (p *Provider) PreverifyWebhook(r *http.Request) (bool, error) {
	if len(p.secrets) == 0 && len(p.tokens) == 0 {
		if p.insecure {
			return false, nil
		}
		return false, fax.Errorf(fax.ECodeUnauthorized, "phaxio webhook verification is not configured")
	}
	h := strings.TrimSpace(r.Header.Get(SignatureHeader))
	if h == "" {
		return false, fax.Errorf(fax.ECodeUnauthorized, "missing %s header", SignatureHeader)
	}
	var sig [sha256.Size]byte
	n, ok := carrier.DecodeHex(sig[:], h)
	if ok && (n == sha256.Size && len(p.secrets) > 0 || n == sha1.Size && len(p.tokens) > 0) {
		return false, nil
	}
	return false, fax.Errorf(fax.ECodeUnauthorized, "%s does not match", SignatureHeader)
}
