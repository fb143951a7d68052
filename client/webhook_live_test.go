package client_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/client"
)

// TestWebhookVerifierLive verifies deliveries from the running gateway:
// before a rotation, during it with the old secret, the new one or both,
// and rejects a tampered body, a stale timestamp and a stranger's secret.
// A fax.sent delivery decodes into the typed fax.
func TestWebhookVerifierLive(t *testing.T) {
	ctx := testContext(t)
	c := newAdmin(t)
	rcv := newReceiver(t)
	ep, err := c.CreateEndpoint(ctx, client.EndpointCreate{URL: rcv.url, Events: []string{"fax.sent"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.DeleteEndpoint(ctx, ep.ID)
	old := ep.Secret
	f, err := c.SendFax(ctx, client.SendRequest{To: "+15551239900", Document: strings.NewReader("rotation\n"), Filename: "r.txt"})
	if err != nil {
		t.Fatal(err)
	}
	d := rcv.next(t, f.ID)
	v, _ := client.NewVerifier(old)
	if err := v.Verify(d.header, d.body); err != nil {
		t.Fatalf("before rotation: %v", err)
	}
	ev, err := client.ParseWebhookEvent(d.body)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := ev.Fax()
	if err != nil || ev.Type != "fax.sent" || fd.ID != f.ID || fd.Status != "sent" || ev.APIVersion == "" {
		t.Fatalf("got event %s with fax %+v (%v), want fax.sent of %s", ev.Type, fd, err, f.ID)
	}
	if _, err := ev.SMS(); err == nil {
		t.Fatal("SMS() of a fax event: got no error")
	}

	rot, err := c.RotateEndpointSecret(ctx, ep.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := c.SendFax(ctx, client.SendRequest{To: "+15551239901", Document: strings.NewReader("rotation\n"), Filename: "r.txt"})
	if err != nil {
		t.Fatal(err)
	}
	d = rcv.next(t, f2.ID)
	if n := len(strings.Fields(d.header.Get("webhook-signature"))); n != 2 {
		t.Fatalf("got %d signatures during the rotation, want 2", n)
	}
	for name, secrets := range map[string][]string{"old": {old}, "new": {rot.Secret}, "both": {rot.Secret, old}} {
		v, err := client.NewVerifier(secrets...)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(d.header, d.body); err != nil {
			t.Fatalf("during rotation with the %s secret: %v", name, err)
		}
	}
	v, _ = client.NewVerifier(rot.Secret)
	// The Receive path reads and decodes a whole request.
	req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(d.body))
	req.Header = d.header
	if ev, err := v.Receive(req); err != nil || ev.Type != "fax.sent" {
		t.Fatalf("Receive: got %v, %v", ev, err)
	}
	tampered := bytes.Replace(d.body, []byte(`"sent"`), []byte(`"failed"`), 1)
	if err := v.Verify(d.header, tampered); !errors.Is(err, client.ErrWebhookSignature) {
		t.Fatalf("tampered body: got %v, want ErrWebhookSignature", err)
	}
	late := *v
	late.Now = func() time.Time { return time.Now().Add(10 * time.Minute) }
	if err := late.Verify(d.header, d.body); !errors.Is(err, client.ErrWebhookTimestamp) {
		t.Fatalf("ten minutes late: got %v, want ErrWebhookTimestamp", err)
	}
	stranger, _ := client.NewVerifier("whsec_" + "c3RyYW5nZXItc2VjcmV0LXN0cmFuZ2VyLXNlY3JldA==")
	if err := stranger.Verify(d.header, d.body); !errors.Is(err, client.ErrWebhookSignature) {
		t.Fatalf("another secret: got %v, want ErrWebhookSignature", err)
	}
	h := d.header.Clone()
	h.Del("webhook-id")
	if err := v.Verify(h, d.body); !errors.Is(err, client.ErrWebhookHeaders) {
		t.Fatalf("no webhook-id: got %v, want ErrWebhookHeaders", err)
	}
}

// TestVerifyPhaxioLive checks a Phaxio-format delivery from the running
// gateway with the endpoint's secret as the token.
func TestVerifyPhaxioLive(t *testing.T) {
	ctx := testContext(t)
	c := newAdmin(t)
	rcv := newReceiver(t)
	ep, err := c.CreateEndpoint(ctx, client.EndpointCreate{URL: rcv.url, Format: "phaxio", Events: []string{"fax.sent"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.DeleteEndpoint(ctx, ep.ID)
	f, err := c.SendFax(ctx, client.SendRequest{To: "+15551239902", Document: strings.NewReader("phaxio\n"), Filename: "p.txt"})
	if err != nil {
		t.Fatal(err)
	}
	d := rcv.next(t, f.ID)
	if err := client.VerifyPhaxio([]string{"wrong", ep.Secret}, rcv.url, d.header, d.body); err != nil {
		t.Fatalf("VerifyPhaxio: %v", err)
	}
	if err := client.VerifyPhaxio([]string{"wrong"}, rcv.url, d.header, d.body); !errors.Is(err, client.ErrWebhookSignature) {
		t.Fatalf("wrong token: got %v, want ErrWebhookSignature", err)
	}
	if err := client.VerifyPhaxio([]string{ep.Secret}, rcv.url+"?x=1", d.header, d.body); !errors.Is(err, client.ErrWebhookSignature) {
		t.Fatalf("another URL: got %v, want ErrWebhookSignature", err)
	}
}
