package phaxio

import "testing"

// BenchmarkVerifyParsePage measures the callback that comes most often:
// transmitting_page, multipart, signed with HMAC-SHA1 over the URL and the
// fields.
func BenchmarkVerifyParsePage(b *testing.B) {
	benchVerifyParse(b, "callback-multipart-page", false)
}

// BenchmarkVerifyParseJSON measures a JSON callback signed with
// HMAC-SHA256 over the raw body.
func BenchmarkVerifyParseJSON(b *testing.B) {
	benchVerifyParse(b, "callback-json", false)
}

// BenchmarkVerifyParseInbound measures a received fax with its PDF in the
// body (a multipart file part).
func BenchmarkVerifyParseInbound(b *testing.B) {
	benchVerifyParse(b, "inbound-multipart-file", true)
}

func benchVerifyParse(b *testing.B, name string, inbound bool) {
	fx := readFixture(b, name)
	p := testProvider(b)
	r := newRequest(b, fx.target(), fx.contentType)
	sig := sha1Sig(b, testToken, testPublicURL+fx.target(), fx.contentType, fx.body)
	if sig == "" {
		sig = sha256Sig(testSecret, fx.body)
	}
	r.Header.Set(SignatureHeader, sig)
	parse := p.ParseCallback
	if inbound {
		parse = p.ParseInbound
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(fx.body)))
	for b.Loop() {
		if err := p.VerifyWebhook(r, fx.body); err != nil {
			b.Fatal(err)
		}
		if _, err := parse(r, fx.body); err != nil {
			b.Fatal(err)
		}
	}
}
