package client_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/faxgate/faxgate/client"
	"github.com/faxgate/faxgate/internal/webhook"
)

// FuzzVerifier checks the client's verifier against the gateway's own
// webhook.Verify: on any headers and body both accept or both reject.
func FuzzVerifier(f *testing.F) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"evt_1","type":"fax.sent","data":{}}`)
	sig, _ := webhook.Sign(secret, "msg_1", now, body)
	f.Add("msg_1", "1800000000", sig, body)
	f.Add("msg_1", "1800000000", "v1,AAAA "+sig, body)
	f.Add("msg_1", "1799999000", sig, body)
	f.Add("", "1800000000", sig, body)
	f.Add("msg_1", "+1800000000", "v2,x", []byte{})
	v, err := client.NewVerifier(secret)
	if err != nil {
		f.Fatal(err)
	}
	v.Now = func() time.Time { return now }
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		got := v.Verify(h, body) == nil
		want := webhook.Verify(secret, h, body, now, 0) == nil
		if got != want {
			t.Fatalf("client accepts: %t, gateway accepts: %t (id %q ts %q sig %q)", got, want, id, ts, sig)
		}
	})
}

// FuzzVerifyPhaxio: any body and header is an error or nil, never a panic.
func FuzzVerifyPhaxio(f *testing.F) {
	f.Add("multipart/form-data; boundary=b", "0123456789012345678901234567890123456789", []byte("--b\r\nContent-Disposition: form-data; name=\"fax\"\r\n\r\n{}\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, ct, sig string, body []byte) {
		h := http.Header{}
		h.Set("Content-Type", ct)
		h.Set("X-Phaxio-Signature", sig)
		client.VerifyPhaxio([]string{"token"}, "https://example.com/hook", h, body)
	})
}
