package asterisk

import "testing"

// BenchmarkInbound is one dialplan post: secret and source check, JSON
// parse and spool path resolution (a few stat calls).
func BenchmarkInbound(b *testing.B) {
	spool, _ := testSpool(b)
	p := mustNew(b, testConfig(spool))
	r, body := readFixture(b, "testdata/success_absolute.http", spool)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.VerifyInbound(r, body); err != nil {
			b.Fatal(err)
		}
		if _, err := p.ParseInbound(r, body); err != nil {
			b.Fatal(err)
		}
	}
}
