package phaxio

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/providertest"
)

func TestFind(t *testing.T) {
	tests := []struct {
		name      string
		answer    http.HandlerFunc
		zeroTime  bool
		golden    string
		wantID    string
		wantFound bool
		wantErr   bool
	}{
		{name: "found", answer: providertest.AnswerJSON(t, 200, "find-one.json"), golden: "find", wantID: "323034811", wantFound: true},
		{name: "not found", answer: providertest.AnswerJSON(t, 200, "find-empty.json")},
		{name: "no creation time", answer: providertest.AnswerJSON(t, 200, "find-empty.json"), zeroTime: true, golden: "find-no-window"},
		{name: "filter ignored", answer: providertest.AnswerJSON(t, 200, "find-unfiltered.json"), wantErr: true},
		{name: "success false", answer: providertest.AnswerJSON(t, 200, `{"success":false,"message":"Invalid tag"}`), wantErr: true},
		{name: "no data", answer: providertest.AnswerJSON(t, 200, `{"success":true}`), wantErr: true},
		{name: "unparseable", answer: providertest.AnswerText(200, "text/html", "<html></html>"), wantErr: true},
		{name: "500", answer: providertest.AnswerJSON(t, 500, `{}`), wantErr: true},
		{name: "401", answer: providertest.AnswerJSON(t, 401, `{"success":false,"message":"Invalid API key"}`), wantErr: true},
		{name: "closed", answer: providertest.CloseAfterRead, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := providertest.NewFake(t, tt.answer)
			p := sendProvider(t, fc.URL(testBasePath), nil)
			f := testJob().Fax
			if tt.zeroTime {
				f.CreatedAt = time.Time{}
			}
			id, found, err := p.Find(context.Background(), f)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Find: got error %v, want error %v", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q reveals the API secret", err)
			}
			if id != tt.wantID || found != tt.wantFound {
				t.Errorf("got (%q, %v), want (%q, %v)", id, found, tt.wantID, tt.wantFound)
			}
			reqs := fc.Requests()
			if len(reqs) == 0 {
				t.Fatal("got no request")
			}
			q, _ := url.ParseQuery(reqs[0].RawQuery)
			if got := q.Get("tag[faxgate_id]"); got != testJobID {
				t.Errorf("got tag[faxgate_id]=%q, want %q", got, testJobID)
			}
			if tt.golden != "" {
				checkGolden(t, tt.golden, providertest.RenderRequest(t, reqs[0]))
			}
		})
	}
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name     string
		answer   http.HandlerFunc
		golden   string
		wantCode string // "" for success
	}{
		{name: "canceled", answer: providertest.AnswerJSON(t, 200, "cancel-ok.json"), golden: "cancel"},
		{name: "already done", answer: providertest.AnswerJSON(t, 200, "cancel-refused.json"), wantCode: fax.ECodeConflict},
		{name: "422", answer: providertest.AnswerJSON(t, 422, "cancel-refused.json"), wantCode: fax.ECodeConflict},
		{name: "404", answer: providertest.AnswerJSON(t, 404, `{"success":false,"message":"Fax not found"}`), wantCode: fax.ECodeNotFound},
		{name: "401", answer: providertest.AnswerJSON(t, 401, `{"success":false}`), wantCode: fax.ECodeUnavailable},
		{name: "429", answer: providertest.AnswerJSON(t, 429, `{}`), wantCode: fax.ECodeUnavailable},
		{name: "503", answer: providertest.AnswerJSON(t, 503, `{}`), wantCode: fax.ECodeUnavailable},
		{name: "unparseable", answer: providertest.AnswerText(200, "text/plain", "ok"), wantCode: fax.ECodeUnavailable},
		{name: "closed", answer: providertest.CloseAfterRead, wantCode: fax.ECodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := providertest.NewFake(t, tt.answer)
			p := sendProvider(t, fc.URL(testBasePath), nil)
			f := testJob().Fax
			f.ProviderFaxID = "323034811"
			err := p.Cancel(context.Background(), f)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Cancel: got %v, want nil", err)
				}
			} else {
				providertest.WantCode(t, err, tt.wantCode)
			}
			reqs := fc.Requests()
			if len(reqs) != 1 || reqs[0].Method != http.MethodPost || reqs[0].Path != "/v2.1/faxes/323034811/cancel" {
				t.Fatalf("got requests %+v, want one POST /v2.1/faxes/323034811/cancel", reqs)
			}
			if tt.golden != "" {
				checkGolden(t, tt.golden, providertest.RenderRequest(t, reqs[0]))
			}
		})
	}
	p := sendProvider(t, "http://127.0.0.1:1/v2.1", nil)
	providertest.WantCode(t, p.Cancel(context.Background(), testJob().Fax), fax.ECodeConflict)
}

// TestCallbackRoundTrip feeds the callback_url Send registered back into
// VerifyWebhook, signed the way Phaxio signs: over that exact URL.
func TestCallbackRoundTrip(t *testing.T) {
	fc := providertest.NewFake(t, providertest.AnswerJSON(t, 200, "send-ok.json"))
	p := sendProvider(t, fc.URL(testBasePath), nil)
	if _, err := p.Send(context.Background(), testJob(), []byte(testPDF)); err != nil {
		t.Fatal(err)
	}
	callback := providertest.Field(t, fc.Requests()[0], "callback_url")
	target, ok := strings.CutPrefix(callback, testPublicURL)
	if !ok {
		t.Fatalf("callback_url %q is not under %s", callback, testPublicURL)
	}
	fx := readFixture(t, "callback-multipart-success")
	r := newRequest(t, target, fx.contentType)
	r.Header.Set(SignatureHeader, sha1Sig(t, testToken, callback, fx.contentType, fx.body))
	if err := p.VerifyWebhook(r, fx.body); err != nil {
		t.Fatalf("VerifyWebhook of a callback signed over the registered URL: got %v, want nil", err)
	}
	updates, err := p.ParseCallback(newRequest(t, target, fx.contentType), fx.body)
	if err != nil || len(updates) != 1 || updates[0].FaxID != testJobID {
		t.Fatalf("ParseCallback: got %+v, %v, want one update for %s", updates, err, testJobID)
	}
	// A signature over any other URL fails: the registered one is the key.
	r = newRequest(t, target, fx.contentType)
	r.Header.Set(SignatureHeader, sha1Sig(t, testToken, callback+"&x=1", fx.contentType, fx.body))
	if err := p.VerifyWebhook(r, fx.body); err == nil {
		t.Error("VerifyWebhook of a signature over another URL: got nil, want an error")
	}
}
