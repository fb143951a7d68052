package sinch

import "testing"

// BenchmarkVerifyParseCallback measures a status callback (multipart,
// Basic auth and HMAC) checked, then parsed: the hot path of a sent fax.
func BenchmarkVerifyParseCallback(b *testing.B) {
	fx := readFixture(b, "callback-multipart-completed")
	p := testProvider(b)
	r := newRequest(b, callbackPath, fx.contentType)
	r.SetBasicAuth(testUser, testPass)
	r.Header.Set(SignatureHeader, sign(testSecret, fx.body))
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
