package sinch

import "testing"

// BenchmarkVerifyParseInbound measures an INCOMING_FAX multipart webhook
// checked by Basic auth and HMAC, then parsed.
func BenchmarkVerifyParseInbound(b *testing.B) {
	fx := readFixture(b, "inbound-multipart-file")
	p := testProvider(b)
	r := newRequest(b, inboundPath, fx.contentType)
	r.SetBasicAuth(testUser, testPass)
	r.Header.Set(SignatureHeader, sign(testSecret, fx.body))
	b.ReportAllocs()
	b.SetBytes(int64(len(fx.body)))
	for b.Loop() {
		if err := p.VerifyWebhook(r, fx.body); err != nil {
			b.Fatal(err)
		}
		if _, err := p.ParseInbound(r, fx.body); err != nil {
			b.Fatal(err)
		}
	}
}
