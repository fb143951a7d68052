package fax_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

func TestSendRequestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		req      fax.SendRequest
		wantErr  string // message prefix; "" for valid
		wantTo   string
		wantFrom string
	}{
		{"valid, normalised", fax.SendRequest{To: " +1 (555) 123-4567 ", From: "0015557654321"}, "", "+15551234567", "+15557654321"},
		{"no from", fax.SendRequest{To: "+15551234567"}, "", "+15551234567", ""},
		{"header at the limit", fax.SendRequest{To: "+15551234567", HeaderText: strings.Repeat("é", 50)}, "", "+15551234567", ""},
		{"to missing", fax.SendRequest{}, "to: number is empty", "", ""},
		{"to bad", fax.SendRequest{To: "5551234567"}, "to: number must start with +", "", ""},
		{"from bad", fax.SendRequest{To: "+15551234567", From: "abc"}, "from: number contains", "", ""},
		{"header too long", fax.SendRequest{To: "+15551234567", HeaderText: strings.Repeat("a", 51)}, "header_text: at most 50 characters of text, got 51", "", ""},
		{"header not text", fax.SendRequest{To: "+15551234567", HeaderText: "a\xff"}, "header_text: at most 50 characters of text", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req
			err := r.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if r.To != tt.wantTo || r.From != tt.wantFrom {
					t.Errorf("got to %q from %q, want %q %q", r.To, r.From, tt.wantTo, tt.wantFrom)
				}
				return
			}
			if fax.ErrorCode(err) != fax.ECodeInvalid || !strings.HasPrefix(fax.ErrorMessage(err), tt.wantErr) {
				t.Errorf("Validate() = %v (%s), want invalid %q…", err, fax.ErrorCode(err), tt.wantErr)
			}
		})
	}
}

func TestSendRequestIdempotencyKey(t *testing.T) {
	t.Parallel()
	ok := fax.SendRequest{IdempotencyKey: strings.Repeat("k", fax.MaxIdempotencyKey)}
	if err := ok.ValidateIdempotencyKey(); err != nil {
		t.Errorf("a key of %d: got %v, want nil", fax.MaxIdempotencyKey, err)
	}
	long := fax.SendRequest{IdempotencyKey: strings.Repeat("k", fax.MaxIdempotencyKey+1)}
	if err := long.ValidateIdempotencyKey(); fax.ErrorMessage(err) != "Idempotency-Key is longer than 255 characters" {
		t.Errorf("a key of %d: got %v, want the length refused", fax.MaxIdempotencyKey+1, err)
	}
}

func TestSendRequestHash(t *testing.T) {
	t.Parallel()
	base := fax.SendRequest{To: "+15551234567", From: "+15557654321", CallbackURL: "https://a.example/h", Provider: "simulator", HeaderText: "Acme"}
	doc := [][]byte{[]byte("%PDF-1.4 one")}
	h := base.Hash(doc)
	// Pinned: stored hashes of earlier requests must keep matching after an
	// upgrade, or a repeat would be refused as a different request.
	if want := hashOf(t, base, doc[0]); h != want {
		t.Fatalf("Hash = %s, want %s", h, want)
	}
	k := base
	k.IdempotencyKey = "other"
	if k.Hash(doc) != h {
		t.Error("the Idempotency-Key changed the hash; it must not")
	}
	for name, r := range map[string]fax.SendRequest{
		"to":       {To: "+15551234568", From: base.From, CallbackURL: base.CallbackURL, Provider: base.Provider, HeaderText: base.HeaderText},
		"provider": {To: base.To, From: base.From, CallbackURL: base.CallbackURL, Provider: "phaxio", HeaderText: base.HeaderText},
		"shifted":  {To: base.To, From: base.From, CallbackURL: base.CallbackURL + "s", Provider: "imulator", HeaderText: base.HeaderText},
		"header":   {To: base.To, From: base.From, CallbackURL: base.CallbackURL, Provider: base.Provider},
	} {
		if r.Hash(doc) == h {
			t.Errorf("a different %s gave the same hash", name)
		}
	}
	if base.Hash([][]byte{[]byte("%PDF-1.4 two")}) == h {
		t.Error("a different document gave the same hash")
	}
	two := base.Hash([][]byte{[]byte("%PDF-1.4 one"), []byte("%PDF-1.4 two")})
	if two == h || two == base.Hash([][]byte{[]byte("%PDF-1.4 two"), []byte("%PDF-1.4 one")}) {
		t.Error("several files, or their order, did not change the hash")
	}
}

func TestNewOutbound(t *testing.T) {
	t.Parallel()
	r := &fax.SendRequest{To: "+15551234567", From: "+15557654321", CallbackURL: "https://a.example/h", Provider: "simulator", HeaderText: "Acme", IdempotencyKey: "k1"}
	doc := fax.StoredDocument{Key: "outbound/x.pdf", MIME: "application/pdf", Size: 10, SHA256: "abc", Pages: 2}
	f := fax.NewOutbound("fax_1", r, doc, "key_1")
	if f.ID != "fax_1" || f.To != r.To || f.From != r.From || f.Provider != "simulator" || f.Pages != 2 ||
		f.CallbackURL != r.CallbackURL || f.HeaderText != "Acme" || f.DocumentKey != doc.Key || f.DocumentType != doc.MIME ||
		f.DocumentSize != 10 || f.DocumentSHA256 != "abc" || f.OwnerKeyID != "key_1" || f.IdempotencyKey != "k1" {
		t.Errorf("NewOutbound = %+v", f)
	}
	if len(f.CallbackToken) != 48 || f.CallbackToken == fax.NewOutbound("fax_2", r, doc, "").CallbackToken {
		t.Errorf("callback token %q: want 48 hex characters, fresh each time", f.CallbackToken)
	}
}

func TestOutboundDocumentKey(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	for mime, want := range map[string]string{
		"application/pdf": "outbound/2026/12/06/fax_1.pdf",
		"image/tiff":      "outbound/2026/12/06/fax_1.tif",
	} {
		if got := fax.OutboundDocumentKey("fax_1", mime, now); got != want {
			t.Errorf("OutboundDocumentKey(%s) = %q, want %q", mime, got, want)
		}
	}
}

// hashOf is the request hash written out independently: each part
// "len:value", the document as its hex SHA-256, all under SHA-256.
func hashOf(t *testing.T, r fax.SendRequest, doc []byte) string {
	t.Helper()
	d := sha256.Sum256(doc)
	var b strings.Builder
	for _, v := range []string{r.To, r.From, r.CallbackURL, r.Provider, r.HeaderText, hex.EncodeToString(d[:])} {
		fmt.Fprintf(&b, "%d:%s", len(v), v)
	}
	h := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(h[:])
}
