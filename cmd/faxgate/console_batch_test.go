package main

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestConsoleSendBatch: the console's send form takes several numbers, one
// per line or separated by commas, and sends them as one batch the list
// then filters by; one bad number sends nothing.
func TestConsoleSendBatch(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	b := &browser{t: t, g: g}
	b.signIn(adminKey)
	post := func(to string) (int, string) {
		mb := multipartSend(map[string]string{"csrf": b.csrf(), "to": to}, textDoc)
		req, _ := http.NewRequest("POST", g.url+"/console/send", bytes.NewReader(mb.buf.Bytes()))
		req.Header.Set("Content-Type", mb.ct)
		req.AddCookie(b.cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	code, body := post("+15552370001,\n+15552370002\n+1 555 237 0003")
	batch := regexp.MustCompile(`bat_[0-9A-Z]{26}`).FindString(body)
	if code != http.StatusAccepted || batch == "" || strings.Count(body, `href="/console/faxes/fax_`) != 3 {
		t.Fatalf("send to three: got %d, want 202 naming the batch and its 3 faxes: %s", code, body)
	}
	resp, list := b.req("GET", "/console/faxes?direction=outbound&batch_id="+batch, nil, nil)
	if resp.StatusCode != 200 || strings.Count(list, `data-fax-id=`) != 3 {
		t.Errorf("outbox by batch: got %d with %d faxes, want the 3", resp.StatusCode, strings.Count(list, `data-fax-id=`))
	}
	if code, body := post("+15552370004, 5552370005"); code != http.StatusBadRequest || !strings.Contains(body, `class="error"`) || !strings.Contains(body, "to[1]") {
		t.Errorf("a bad number among two: got %d, want 400 naming to[1]: %s", code, body)
	}
	if n := g.faxCount(t); n != 3 {
		t.Errorf("got %d faxes, want the batch's 3", n)
	}
}
