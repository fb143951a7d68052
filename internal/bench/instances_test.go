package bench

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/provider/phaxio"
	"github.com/faxgate/faxgate/internal/webhook"
)

// TestReceiverCountsRepeatedWebhooks: with --instances the receiver counts
// a webhook-id it has verified before as work claimed twice; another id is
// not a repeat.
func TestReceiverCountsRepeatedWebhooks(t *testing.T) {
	secret := webhook.NewSecret()
	r := &benchReceiver{secret: secret, ids: map[string]int32{}}
	signed := func(id string) http.Header {
		h := http.Header{}
		body := []byte(`{"id":"` + id + `"}`)
		if err := webhook.SetHeaders(h, []string{secret}, id, time.Now(), body); err != nil {
			t.Fatal(err)
		}
		return h
	}
	for _, id := range []string{"evt_1", "evt_2", "evt_1", "evt_3", "evt_1"} {
		r.receive(signed(id), []byte(`{"id":"`+id+`"}`))
	}
	if got := r.verified.Load(); got != 5 {
		t.Errorf("verified %d, want 5", got)
	}
	if got := r.dupIDs.Load(); got != 2 {
		t.Errorf("repeats %d, want 2 (evt_1 twice more)", got)
	}
}

// TestFakeCarrierCountsRepeatedSends: the fake carrier accepts Phaxio sends
// and counts a fax sent again by its faxgate id tag.
func TestFakeCarrierCountsRepeatedSends(t *testing.T) {
	f, err := newFakeCarrier(true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.srv.Close()
	send := func(faxID string) int {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		w.WriteField("to", benchTo)
		w.WriteField("tag["+phaxio.TagName+"]", faxID)
		w.Close()
		resp, err := http.Post(f.url+"/faxes", w.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, id := range []string{"fax_a", "fax_b", "fax_a"} {
		if code := send(id); code != http.StatusOK {
			t.Fatalf("send %s: %d, want 200", id, code)
		}
	}
	if f.sent.Load() != 3 || f.dupSends.Load() != 1 || f.calls.Load() != 0 {
		t.Errorf("sent %d, repeats %d, other calls %d; want 3, 1, 0", f.sent.Load(), f.dupSends.Load(), f.calls.Load())
	}
}
