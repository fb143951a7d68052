package phaxio

import "testing"

// BenchmarkVerifyParseCallback measures the hot path of a Phaxio callback:
// verifying an HMAC-SHA1 signed multipart body, then parsing it.
func BenchmarkVerifyParseCallback(b *testing.B) {
	fx := readFixture(b, "callback-multipart-busy-legacy")
	p := testProvider(b)
	r := newRequest(b, callbackPath, fx.contentType)
	r.Header.Set(SignatureHeader, sha1Sig(b, testToken, testPublicURL+callbackPath, fx.contentType, fx.body))
	b.ReportAllocs()
	b.SetBytes(int64(len(fx.body)))
	for b.Loop() {
		if err := p.VerifyWebhook(r, fx.body); err != nil {
			b.Fatal(err)
		}
		if _, err := p.ParseCallback(r, fx.body); err != nil {
			b.Fatal(err)
		}
	}
}
