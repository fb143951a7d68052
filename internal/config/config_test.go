package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.DataDir != "./faxgate-data" || c.Provider != "simulator" || c.DatabaseURL != "" {
		t.Errorf("got %+v", c)
	}
	if len(c.WebhookRetrySchedule) != 16 || c.WebhookRetrySchedule[0] != 5*time.Minute || c.WebhookRetrySchedule[15] != 6*time.Hour {
		t.Errorf("schedule: got %v", c.WebhookRetrySchedule)
	}
	if c.MaxDocument != 20<<20 || c.WebhookTimeout != 15*time.Second || c.SimulatorPageDelay != 0 {
		t.Errorf("got %+v", c)
	}
}

func TestProblemsNameTheSetting(t *testing.T) {
	_, err := Load(env(map[string]string{
		"FAXGATE_PROVIDER":               "fedex",
		"FAXGATE_WEBHOOK_TIMEOUT":        "soon",
		"FAXGATE_PUBLIC_URL":             "ftp://x",
		"FAXGATE_WEBHOOK_ALLOW_NETWORKS": "10.0.0.0/8,nonsense",
	}), "")
	if err == nil {
		t.Fatal("got nil, want errors")
	}
	for _, name := range []string{"FAXGATE_WEBHOOK_TIMEOUT", "FAXGATE_WEBHOOK_ALLOW_NETWORKS"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	_, err = Load(env(map[string]string{"FAXGATE_PROVIDER": "fedex", "FAXGATE_PUBLIC_URL": "ftp://x"}), "")
	for _, name := range []string{"FAXGATE_PROVIDER", "FAXGATE_PUBLIC_URL"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
}

func TestFileAndSecretFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "token")
	os.WriteFile(secret, []byte("tok-from-file\n"), 0o600)
	file := filepath.Join(dir, "faxgate.env")
	os.WriteFile(file, []byte("# comment\nFAXGATE_ADDR=:9090\nexport PHAXIO_WEBHOOK_TOKEN_FILE="+secret+"\nPHAXIO_API_SECRET=\"a, b\"\n"), 0o600)
	c, err := Load(env(map[string]string{"FAXGATE_ADDR": ":7070"}), file)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":7070" {
		t.Errorf("env must win over file: got %q", c.Addr)
	}
	if len(c.Phaxio.WebhookTokens) != 1 || c.Phaxio.WebhookTokens[0] != "tok-from-file" {
		t.Errorf("got %v", c.Phaxio.WebhookTokens)
	}
	if len(c.Phaxio.APISecrets) != 2 || c.Phaxio.APISecrets[1] != "b" {
		t.Errorf("rotation list: got %v", c.Phaxio.APISecrets)
	}
	red := c.Redacted(env(nil), file)
	for _, kv := range red {
		if strings.Contains(kv[1], "tok-from-file") || kv[1] == "a, b" {
			t.Errorf("secret shown: %v", kv)
		}
	}
}

func TestUnknownSettingInFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f.env")
	os.WriteFile(file, []byte("FAXGATE_ADRR=:1\n"), 0o600)
	_, err := Load(env(nil), file)
	if err == nil || !strings.Contains(err.Error(), "FAXGATE_ADRR") || !strings.Contains(err.Error(), "FAXGATE_ADDR") {
		t.Errorf("got %v, want unknown setting with suggestion", err)
	}
}

func TestParseSchedule(t *testing.T) {
	s, err := ParseSchedule("1s, 2s*3")
	if err != nil || len(s) != 4 || s[3] != 2*time.Second {
		t.Errorf("got %v %v", s, err)
	}
	for _, bad := range []string{"x", "1s*0", "-1s", "1s*1000"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q): got nil error", bad)
		}
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"5m,10m,20m,30m,6h×12", "1s*3", "", "x", "1h*100,1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseSchedule(s)
		if err == nil && len(d) > 100 {
			t.Fatalf("ParseSchedule(%q): %d retries, want at most 100", s, len(d))
		}
		for _, x := range d {
			if x <= 0 {
				t.Fatalf("ParseSchedule(%q): non-positive wait %v", s, x)
			}
		}
	})
}

func FuzzLoadFile(f *testing.F) {
	f.Add("FAXGATE_ADDR=:9090\n# c\nexport PHAXIO_API_SECRET=\"a,b\"\n")
	f.Add("=\n\n\"")
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(t.TempDir(), "f.env")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		Load(func(string) string { return "" }, p)
	})
}

func TestRetentionAndHTTPS(t *testing.T) {
	c, err := Load(env(map[string]string{"FAXGATE_RETENTION_DAYS": "30", "FAXGATE_RETENTION_DAYS_OUTBOUND": "7"}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.RetentionInbound != 30*24*time.Hour || c.RetentionOutbound != 7*24*time.Hour {
		t.Errorf("got %v / %v, want 30d inbound, 7d outbound", c.RetentionInbound, c.RetentionOutbound)
	}
	_, err = Load(env(map[string]string{"FAXGATE_REQUIRE_HTTPS": "1", "FAXGATE_PUBLIC_URL": "http://fax.example.com"}), "")
	if err == nil || !strings.Contains(err.Error(), "FAXGATE_PUBLIC_URL") {
		t.Errorf("got %v, want a FAXGATE_PUBLIC_URL problem", err)
	}
	_, err = Load(env(map[string]string{"FAXGATE_TLS_CERT": "/x.pem"}), "")
	if err == nil || !strings.Contains(err.Error(), "FAXGATE_TLS_CERT") {
		t.Errorf("got %v, want a FAXGATE_TLS_CERT problem", err)
	}
	if _, err := Load(env(map[string]string{"FAXGATE_RETENTION_DAYS": "-1"}), ""); err == nil {
		t.Error("negative retention accepted")
	}
}
