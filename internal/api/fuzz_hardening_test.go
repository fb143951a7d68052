package api

import (
	"net/mail"
	"net/url"
	"strings"
	"testing"
)

// FuzzQueryRule: whatever the query string, the rule never panics, and a
// query it accepts names only allowed parameters, each once.
func FuzzQueryRule(f *testing.F) {
	for _, s := range []string{"", "limit=5", "status=sent&status=failed", "bogus=1", "a=%zz", "limit=1;x=2", "=x", "&&", "cursor"} {
		f.Add(s)
	}
	allowed := []string{"direction", "status", "limit", "cursor"}
	f.Fuzz(func(t *testing.T, raw string) {
		if checkQuery(raw, allowed) != nil {
			return
		}
		q, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", raw, err)
		}
		for name, vs := range q {
			if len(vs) != 1 || !strings.Contains(" direction status limit cursor ", " "+name+" ") {
				t.Fatalf("accepted %q: %s given %d times", raw, name, len(vs))
			}
		}
	})
}

// FuzzMailto: a mailto: URL the rule accepts holds 1 to 10 plain addresses
// and nothing that could add recipients or headers.
func FuzzMailto(f *testing.F) {
	for _, s := range []string{"mailto:a@b.example", "mailto:a@b.example,c@d.example", "mailto:a@b.example?bcc=c@d.example",
		"mailto:a@b.example%2Cc@d.example", "mailto:\"x\" <a@b.example>", "mailto:a@b.example\r\nBcc: c@d.example", "mailto:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		if !strings.HasPrefix(strings.ToLower(u), "mailto:") || checkMailto(u) != nil {
			return
		}
		rest := u[len("mailto:"):]
		if strings.ContainsAny(rest, "?%\r\n<>\"") {
			t.Fatalf("accepted %q", u)
		}
		addrs := strings.Split(rest, ",")
		if len(addrs) < 1 || len(addrs) > 10 {
			t.Fatalf("accepted %q with %d addresses", u, len(addrs))
		}
		for _, a := range addrs {
			if p, err := mail.ParseAddress(a); err != nil || p.Address != a {
				t.Fatalf("accepted %q: %q is not a plain address", u, a)
			}
		}
	})
}
