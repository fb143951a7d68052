package gofax

import (
	"testing"
)

// BenchmarkCallbackBasic is an account-level fax-sent webhook: Basic auth
// then parse, as the ingest layer runs them.
func BenchmarkCallbackBasic(b *testing.B) {
	p := mustNew(b, testConfig())
	r, body := readFixture(b, "testdata/callback_account_failed_busy.http")
	b.ReportAllocs()
	for b.Loop() {
		if err := p.VerifyCallback(r, body); err != nil {
			b.Fatal(err)
		}
		if _, err := p.ParseCallback(r, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallbackToken is a per-fax CallbackURL webhook, fields appended to
// the query: token lookup (an in-memory stand-in for the store) then parse.
func BenchmarkCallbackToken(b *testing.B) {
	p := mustNew(b, testConfig())
	r, body := readFixture(b, "testdata/callback_token_query_appended.http")
	b.ReportAllocs()
	for b.Loop() {
		if err := p.VerifyCallback(r, body); err != nil {
			b.Fatal(err)
		}
		if _, err := p.ParseCallback(r, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInbound is a fax-received webhook.
func BenchmarkInbound(b *testing.B) {
	p := mustNew(b, testConfig())
	r, body := readFixture(b, "testdata/inbound_complete.http")
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
