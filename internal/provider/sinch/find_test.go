package sinch

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/providertest"
)

func TestFind(t *testing.T) {
	tests := []struct {
		name       string
		answer     http.HandlerFunc
		golden     string
		wantID     string
		unprovable bool // the error is Sinch's list proving nothing
		wantErr    bool
	}{
		{name: "labelled", answer: providertest.AnswerJSON(t, 200, "find-one.json"), golden: "find", wantID: "01JPA3Z9Q3T7B5V1X8M2N6K4RD"},
		{name: "by callback url", answer: providertest.AnswerJSON(t, 200, "find-callback-only.json"), wantID: "01JPA3Z9Q3T7B5V1X8M2N6K4RD"},
		{name: "other faxes only", answer: providertest.AnswerJSON(t, 200, "find-other.json"), unprovable: true, wantErr: true},
		{name: "empty", answer: providertest.AnswerJSON(t, 200, "find-empty.json"), unprovable: true, wantErr: true},
		{name: "no list", answer: providertest.AnswerJSON(t, 200, `{"totalItems":0}`), wantErr: true},
		{name: "unparseable", answer: providertest.AnswerText(200, "text/html", "<html>"), wantErr: true},
		{name: "500", answer: providertest.AnswerJSON(t, 500, `{}`), wantErr: true},
		{name: "401", answer: providertest.AnswerJSON(t, 401, "error-unauthenticated.json"), wantErr: true},
		{name: "closed", answer: providertest.CloseAfterRead, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := providertest.NewFake(t, tt.answer)
			p := sendProvider(t, fc.URL(testBasePath), nil)
			id, found, err := p.Find(context.Background(), testJob().Fax)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Find: got error %v, want error %v", err, tt.wantErr)
			}
			if errors.Is(err, errUnprovable) != tt.unprovable {
				t.Errorf("got error %v, want unprovable %v", err, tt.unprovable)
			}
			if found != (tt.wantID != "") || id != tt.wantID {
				t.Errorf("got (%q, %v), want (%q, %v)", id, found, tt.wantID, tt.wantID != "")
			}
			if err != nil {
				checkNoSecrets(t, err)
			}
			reqs := fc.Requests()
			if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != faxesPath {
				t.Fatalf("got requests %+v, want one GET %s", reqs, faxesPath)
			}
			if q, _ := url.ParseQuery(reqs[0].RawQuery); q.Get("to") != testTo || q.Get("direction") != "OUTBOUND" {
				t.Errorf("got query %q, want to=%s and direction=OUTBOUND", reqs[0].RawQuery, testTo)
			}
			if tt.golden != "" {
				checkGolden(t, tt.golden, providertest.RenderRequest(t, reqs[0]))
			}
		})
	}
}

func TestFindOAuth(t *testing.T) {
	s := newOAuthSinch(t)
	s.rejected["tok-1"] = true
	p := s.provider(t, nil)
	// The fake answers every fax API call with a single fax object, which
	// has no faxes list: enough to see the refresh and the bearer used.
	if _, _, err := p.Find(context.Background(), testJob().Fax); err == nil {
		t.Fatal("Find: got nil error for an answer without a faxes list")
	}
	if tokens, faxes, bearers := s.counts(); tokens != 2 || faxes != 2 || strings.Join(bearers, ",") != "tok-1,tok-2" {
		t.Errorf("got %d token requests, %d calls with %v; want 2, 2 with tok-1,tok-2", tokens, faxes, bearers)
	}
}

func TestCancel(t *testing.T) {
	fc := providertest.NewFake(t, providertest.AnswerJSON(t, 200, `{}`))
	p := sendProvider(t, fc.URL(testBasePath), nil)
	f := testJob().Fax
	f.ProviderFaxID = "01JPA3Z9Q3T7B5V1X8M2N6K4RD"
	err := p.Cancel(context.Background(), f)
	providertest.WantCode(t, err, fax.ECodeConflict)
	if msg := fax.ErrorMessage(err); msg != "Sinch cannot cancel a fax it has accepted" {
		t.Errorf("got message %q", msg)
	}
	if n := len(fc.Requests()); n != 0 {
		t.Errorf("got %d requests, want none", n)
	}
}

// TestCallbackRoundTrip sends, then posts a FAX_COMPLETED to the callbackUrl
// Send registered, the way Sinch does: with the URL's embedded credentials
// as Basic auth. VerifyWebhook and ParseCallback must accept it.
func TestCallbackRoundTrip(t *testing.T) {
	fc := providertest.NewFake(t, providertest.AnswerJSON(t, 200, "send-ok.json"))
	cfg := sendConfig(fc.URL(testBasePath), nil)
	cfg.HMACSecrets = nil // Sinch itself does not sign
	p := mustNew(t, cfg)
	if _, err := p.Send(context.Background(), testJob(), []byte(testPDF)); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(providertest.Field(t, fc.Requests()[0], "callbackUrl"))
	if err != nil {
		t.Fatal(err)
	}
	fx := readFixture(t, "callback-multipart-completed")
	r := newRequest(t, u.RequestURI(), fx.contentType)
	pass, _ := u.User.Password()
	r.SetBasicAuth(u.User.Username(), pass)
	if err := p.VerifyWebhook(r, fx.body); err != nil {
		t.Fatalf("VerifyWebhook with the callback URL's credentials: got %v, want nil", err)
	}
	updates, err := p.ParseCallback(r, fx.body)
	if err != nil || len(updates) != 1 || updates[0].FaxID != testJobID {
		t.Fatalf("ParseCallback: got %+v, %v, want one update for %s", updates, err, testJobID)
	}
}
