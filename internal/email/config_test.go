package email

import (
	"net/url"
	"strings"
	"testing"
)

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name, url string
	}{
		{"empty", ""},
		{"unparsable", "smtp://bob:hunter2@[::1"},
		{"scheme", "http://bob:hunter2@mail.example.com"},
		{"no host", "smtp://bob:hunter2@"},
		{"opaque", "smtp:bob:hunter2@mail.example.com"},
		{"path", "smtp://bob:hunter2@mail.example.com/x"},
		{"port", "smtp://bob:hunter2@mail.example.com:99999"},
		{"user without password", "smtp://bob@mail.example.com"},
		{"password without user", "smtp://:hunter2@mail.example.com"},
		{"unknown parameter", "smtp://bob:hunter2@mail.example.com?tls=yes"},
		{"bad starttls", "smtp://bob:hunter2@mail.example.com?starttls=maybe"},
		{"starttls on smtps", "smtps://bob:hunter2@mail.example.com?starttls=required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{URL: tt.url})
			if err == nil {
				t.Fatalf("New(%q) = nil error, want one", tt.url)
			}
			if !strings.Contains(err.Error(), "FAXGATE_SMTP_URL") {
				t.Errorf("error %q does not name FAXGATE_SMTP_URL", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
	if _, err := New(Config{URL: "smtp://mail.example.com", From: "not an address"}); err == nil {
		t.Error("New with From \"not an address\" = nil error, want one")
	}
}

func TestNewDefaults(t *testing.T) {
	tests := []struct {
		url      string
		addr     string
		implicit bool
		starttls string
		auth     bool
	}{
		{"smtp://mail.example.com", "mail.example.com:587", false, startTLSOpportunistic, false},
		{"smtp://mail.example.com:25?starttls=required", "mail.example.com:25", false, startTLSRequired, false},
		{"smtps://u%40x:p%3Aw@mail.example.com", "mail.example.com:465", true, startTLSOpportunistic, true},
		{"smtp://u:p@[2001:db8::1]:2525/", "[2001:db8::1]:2525", false, startTLSOpportunistic, true},
	}
	for _, tt := range tests {
		s, err := New(Config{URL: tt.url})
		if err != nil {
			t.Errorf("New(%q): %v", tt.url, err)
			continue
		}
		if s.addr != tt.addr || s.implicit != tt.implicit || s.startTLS != tt.starttls || s.hasAuth != tt.auth {
			t.Errorf("New(%q) = addr %s implicit %v starttls %s auth %v; want %s %v %s %v",
				tt.url, s.addr, s.implicit, s.startTLS, s.hasAuth, tt.addr, tt.implicit, tt.starttls, tt.auth)
		}
		if s.timeout != DefaultTimeout || s.tlsConfig.ServerName != strings.Trim(tt.addr[:strings.LastIndexByte(tt.addr, ':')], "[]") {
			t.Errorf("New(%q): timeout %v, TLS server name %q", tt.url, s.timeout, s.tlsConfig.ServerName)
		}
		if !strings.HasPrefix(s.From(), "faxgate@") {
			t.Errorf("New(%q): From = %q, want faxgate@<hostname>", tt.url, s.From())
		}
	}
	s, _ := New(Config{URL: "smtps://u%40x:p%3Aw@mail.example.com"})
	if s.user != "u@x" || s.pass != "p:w" {
		t.Errorf("credentials = %q %q, want percent-decoded u@x p:w", s.user, s.pass)
	}
	s, _ = New(Config{URL: "smtp://mail.example.com", From: "Fax Desk <fax@example.com>"})
	if s.From() != "fax@example.com" || s.fromHdr != `"Fax Desk" <fax@example.com>` {
		t.Errorf("From = %q, header %q", s.From(), s.fromHdr)
	}
}

func TestHeloName(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "localhost",
		"fax-1.example.com": "fax-1.example.com",
		"bad host":          "localhost",
		"host\r\nX":         "localhost",
		"münchen":           "localhost",
	} {
		if got := heloName(in); got != want {
			t.Errorf("heloName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzNew checks that no URL makes New panic or repeat a password.
func FuzzNew(f *testing.F) {
	for _, s := range []string{
		"smtp://user:hunter2@mail.example.com:587",
		"smtp://user:correct-horse-battery@mail.example.com/path",
		"smtps://user:hunter2@mail.example.com?starttls=required",
		"smtp://user:hunter2@[::1",
		"smtp://user:hunter2@host:0",
		"smtp:user:hunter2@x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		_, err := New(Config{URL: raw})
		if err == nil {
			return
		}
		// A long password cannot be in any of New's fixed texts by chance.
		if u, perr := url.Parse(raw); perr == nil && u.User != nil {
			if pass, _ := u.User.Password(); len(pass) >= 12 && strings.Contains(err.Error(), pass) {
				t.Errorf("New(%q) error %q repeats the password", raw, err)
			}
		}
		if strings.Contains(raw, "hunter2") && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("New(%q) error %q repeats the password", raw, err)
		}
	})
}
