package gofax

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// testDoc stands for a received document: a little-endian TIFF header and
// some bytes, including ones that encode to '/' and '+' in base64.
func testDoc() []byte {
	return append([]byte("II*\x00\x08\x00\x00\x00"), bytes.Repeat([]byte{0xfb, 0xff, 0xbf, 0x00, 0x10}, 300)...)
}

// fakeGoFax serves GoFax's received-document endpoint on loopback with the
// given handler for the document, after checking path and token.
func fakeGoFax(t *testing.T, doc http.HandlerFunc) *Provider {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "method", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Query().Get("token") != testAPIToken {
			w.WriteHeader(http.StatusUnauthorized) // GoFax: 401, no body
			return
		}
		if !strings.HasPrefix(r.URL.EscapedPath(), "/v1.0/ReceiveFax/") || !strings.HasSuffix(r.URL.Path, "/Document") {
			http.NotFound(w, r)
			return
		}
		doc(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := testConfig()
	cfg.BaseURL = srv.URL
	return mustNew(t, cfg)
}

func TestFetchReceived(t *testing.T) {
	tiffDoc := testDoc()
	b64 := base64.StdEncoding.EncodeToString(tiffDoc)
	jsonStr, _ := json.Marshal(b64)
	escaped := strings.ReplaceAll(string(jsonStr), "/", `\/`)
	var wrapped strings.Builder
	for i := 0; i < len(b64); i += 76 {
		wrapped.WriteString(b64[i:min(i+76, len(b64))] + "\r\n")
	}
	tests := []struct {
		name, contentType, body string
	}{
		{"json string", "application/json; charset=utf-8", string(jsonStr)},
		{"json string with escaped slashes", "application/json", escaped},
		{"bare base64", "text/plain", b64},
		{"bare base64 wrapped", "text/plain", wrapped.String()},
		{"bare base64 unpadded", "text/plain", base64.RawStdEncoding.EncodeToString(tiffDoc)},
		{"json with surrounding space", "application/json", "\n  " + string(jsonStr) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotPath string
			p := fakeGoFax(t, func(w http.ResponseWriter, r *http.Request) {
				gotPath = r.URL.Path
				w.Header().Set("Content-Type", tt.contentType)
				io.WriteString(w, tt.body)
			})
			got, err := p.FetchReceived(context.Background(), nil, "7310442")
			if err != nil {
				t.Fatalf("FetchReceived: %v", err)
			}
			if !bytes.Equal(got, tiffDoc) {
				t.Errorf("got %d bytes, want the %d-byte document", len(got), len(tiffDoc))
			}
			if gotPath != "/v1.0/ReceiveFax/7310442/Document" {
				t.Errorf("got path %q, want /v1.0/ReceiveFax/7310442/Document", gotPath)
			}
		})
	}
}

func TestFetchReceivedEscapesID(t *testing.T) {
	var gotPath string
	p := fakeGoFax(t, func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.EscapedPath()
		io.WriteString(w, base64.StdEncoding.EncodeToString(testDoc()))
	})
	if _, err := p.FetchReceived(context.Background(), nil, "a/../b?c"); err != nil {
		t.Fatalf("FetchReceived: %v", err)
	}
	if want := "/v1.0/ReceiveFax/a%2F..%2Fb%3Fc/Document"; gotPath != want {
		t.Errorf("got path %q, want %q", gotPath, want)
	}
}

func TestFetchReceivedErrors(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		body          string
		token         string // "" means the right one
		wantStatus    int    // a *StatusError with this code; 0 for another error
		wantPermanent bool
		wantCode      string // fax error code, when not a StatusError
		wantText      string
	}{
		{name: "bad token", token: "00000000-0000-0000-0000-000000000000", wantStatus: 401, wantPermanent: true, wantText: "GOFAX_TOKEN"},
		{name: "not found", status: 404, wantStatus: 404, wantPermanent: true},
		{name: "rate limited", status: 429, wantStatus: 429},
		{name: "server error", status: 502, wantStatus: 502},
		{name: "not base64", status: 200, body: "<html>maintenance</html>", wantText: "not base64"},
		{name: "json object", status: 200, body: `{"Message":"An error has occurred."}`, wantText: "not a base64 string"},
		{name: "broken json string", status: 200, body: `"SUkqAA`, wantText: "not a JSON string"},
		{name: "empty", status: 200, body: `""`, wantText: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fakeGoFax(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			if tt.token != "" {
				p.tokens = []string{tt.token}
			}
			_, err := p.FetchReceived(context.Background(), nil, "7310442")
			if err == nil {
				t.Fatal("got no error, want one")
			}
			var se *StatusError
			switch {
			case tt.wantStatus != 0 && !errors.As(err, &se):
				t.Fatalf("got %v, want a *StatusError %d", err, tt.wantStatus)
			case tt.wantStatus != 0 && (se.StatusCode != tt.wantStatus || se.Permanent() != tt.wantPermanent):
				t.Errorf("got status %d permanent %v, want %d permanent %v", se.StatusCode, se.Permanent(), tt.wantStatus, tt.wantPermanent)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("got %q, want it to contain %q", err, tt.wantText)
			}
			if strings.Contains(err.Error(), testAPIToken) || (tt.token != "" && strings.Contains(err.Error(), tt.token)) {
				t.Errorf("error %q holds the token", err)
			}
		})
	}
}

// TestFetchReceivedTooLarge streams a base64 body past the cap: the
// download is refused, not truncated, after reading little more than the cap.
func TestFetchReceivedTooLarge(t *testing.T) {
	p := fakeGoFax(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("QUFB"), 16<<10)
		for n := 0; n < base64.StdEncoding.EncodedLen(MaxDocumentSize)*2; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	_, err := p.FetchReceived(context.Background(), nil, "7310442")
	if fax.ErrorCode(err) != fax.ECodeTooLarge {
		t.Fatalf("got %v, want too_large", err)
	}
}

// TestDecodeDocumentTooLarge checks the decoded-size cap on its own: a body
// that fits the read limit can still decode past MaxDocumentSize.
func TestDecodeDocumentTooLarge(t *testing.T) {
	raw := base64.StdEncoding.EncodeToString(make([]byte, MaxDocumentSize+3))
	if _, err := decodeDocument([]byte(raw)); fax.ErrorCode(err) != fax.ECodeTooLarge {
		t.Fatalf("got %v, want too_large", err)
	}
	raw = base64.StdEncoding.EncodeToString(make([]byte, MaxDocumentSize))
	if doc, err := decodeDocument([]byte(raw)); err != nil || len(doc) != MaxDocumentSize {
		t.Fatalf("got %d bytes, %v; want exactly MaxDocumentSize", len(doc), err)
	}
}

func TestFetchReceivedTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens any more
	cfg := testConfig()
	cfg.BaseURL = srv.URL
	p := mustNew(t, cfg)
	_, err := p.FetchReceived(context.Background(), &http.Client{}, "7310442")
	if err == nil {
		t.Fatal("got no error from a closed server")
	}
	if strings.Contains(err.Error(), testAPIToken) {
		t.Errorf("error %q holds the token", err)
	}
	if !strings.Contains(err.Error(), "/v1.0/ReceiveFax/7310442/Document") {
		t.Errorf("error %q does not say what was fetched", err)
	}
}

func TestFetchReceivedCanceled(t *testing.T) {
	p := fakeGoFax(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.FetchReceived(ctx, nil, "7310442"); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestFetchReceivedBadID(t *testing.T) {
	p := mustNew(t, testConfig())
	for _, id := range []string{"", "has space", strings.Repeat("9", maxIDLen+1)} {
		if _, err := p.FetchReceived(context.Background(), nil, id); fax.ErrorCode(err) != fax.ECodeInvalid {
			t.Errorf("FetchReceived(%q): got %v, want invalid", id, err)
		}
	}
}
