package webhook

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// The Standard Webhooks specification's test vector.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specPayload   = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignSpecVector(t *testing.T) {
	for _, secret := range []string{specSecret, strings.TrimPrefix(specSecret, SecretPrefix)} {
		got, err := Sign(secret, specMsgID, time.Unix(specTimestamp, 0), []byte(specPayload))
		if err != nil {
			t.Fatalf("Sign(%q): %v", secret, err)
		}
		if got != specSignature {
			t.Errorf("Sign(%q) = %q, want %q", secret, got, specSignature)
		}
	}
}

func TestSignInvalidSecret(t *testing.T) {
	for _, secret := range []string{"", "whsec_", "whsec_not base64!", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"} {
		_, err := Sign(secret, specMsgID, time.Unix(specTimestamp, 0), []byte(specPayload))
		if got := fax.ErrorCode(err); got != fax.ECodeInvalid {
			t.Errorf("Sign(%q) error code = %q (%v), want %q", secret, got, err, fax.ECodeInvalid)
		}
	}
}

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatalf("two NewSecret calls both returned %q", a)
	}
	for _, s := range []string{a, b} {
		rest, ok := strings.CutPrefix(s, SecretPrefix)
		if !ok {
			t.Fatalf("NewSecret() = %q, want prefix %q", s, SecretPrefix)
		}
		key, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			t.Fatalf("NewSecret() = %q: %v", s, err)
		}
		if len(key) < 24 || len(key) > 64 {
			t.Errorf("NewSecret() key is %d bytes, want 24 to 64", len(key))
		}
		if _, err := Sign(s, "msg_1", time.Now(), []byte("{}")); err != nil {
			t.Errorf("Sign with NewSecret() %q: %v", s, err)
		}
	}
}

func TestSignatureHeaderRotation(t *testing.T) {
	old, cur := NewSecret(), NewSecret()
	ts := time.Unix(specTimestamp, 0)
	body := []byte(specPayload)
	h := http.Header{}
	if err := SetHeaders(h, []string{cur, old}, specMsgID, ts, body); err != nil {
		t.Fatal(err)
	}
	if got := h.Get(HeaderID); got != specMsgID {
		t.Errorf("webhook-id = %q, want %q", got, specMsgID)
	}
	if got, want := h.Get(HeaderTimestamp), strconv.Itoa(specTimestamp); got != want {
		t.Errorf("webhook-timestamp = %q, want %q", got, want)
	}
	sigs := strings.Split(h.Get(HeaderSignature), " ")
	if len(sigs) != 2 {
		t.Fatalf("webhook-signature = %q, want two entries", h.Get(HeaderSignature))
	}
	for i, s := range []string{cur, old} {
		want, _ := Sign(s, specMsgID, ts, body)
		if sigs[i] != want {
			t.Errorf("signature %d = %q, want %q", i, sigs[i], want)
		}
		if err := Verify(s, h, body, ts, 0); err != nil {
			t.Errorf("Verify with secret %d: %v", i, err)
		}
	}
	if _, err := SignatureHeader(nil, specMsgID, ts, body); fax.ErrorCode(err) != fax.ECodeInvalid {
		t.Errorf("SignatureHeader(no secrets) error = %v, want invalid", err)
	}
	if _, err := SignatureHeader([]string{""}, specMsgID, ts, body); fax.ErrorCode(err) != fax.ECodeInvalid {
		t.Errorf("SignatureHeader(empty secret) error = %v, want invalid", err)
	}
}

func specHeader() http.Header {
	h := http.Header{}
	h.Set(HeaderID, specMsgID)
	h.Set(HeaderTimestamp, strconv.Itoa(specTimestamp))
	h.Set(HeaderSignature, specSignature)
	return h
}

func TestVerify(t *testing.T) {
	now := time.Unix(specTimestamp, 0)
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another key of thirty-two bytes!"))
	otherSig, _ := Sign(other, specMsgID, now, []byte(specPayload))
	tests := []struct {
		name     string
		secret   string
		header   func(h http.Header)
		body     string
		now      time.Time
		wantCode string // "" for success
	}{
		{name: "spec vector", body: specPayload},
		{name: "secret without prefix", secret: strings.TrimPrefix(specSecret, SecretPrefix), body: specPayload},
		{name: "lower-case header keys", body: specPayload, header: func(h http.Header) {
			for k, v := range h {
				delete(h, k)
				h[strings.ToLower(k)] = v
			}
		}},
		{name: "one of several signatures", body: specPayload, header: func(h http.Header) {
			h.Set(HeaderSignature, "v1a,abc v2,"+specSignature[3:]+" "+otherSig+" "+specSignature)
		}},
		{name: "tampered body", body: `{"test": 2432232315}`, wantCode: fax.ECodeUnauthorized},
		{name: "wrong secret", secret: other, body: specPayload, wantCode: fax.ECodeUnauthorized},
		{name: "other version only", body: specPayload, wantCode: fax.ECodeUnauthorized, header: func(h http.Header) {
			h.Set(HeaderSignature, "v2,"+specSignature[3:])
		}},
		{name: "signature not base64", body: specPayload, wantCode: fax.ECodeUnauthorized, header: func(h http.Header) {
			h.Set(HeaderSignature, "v1,!!!")
		}},
		{name: "signature with a CR inside (a decoder skips it)", body: specPayload, wantCode: fax.ECodeUnauthorized, header: func(h http.Header) {
			h.Set(HeaderSignature, specSignature[:20]+"\r"+specSignature[20:])
		}},
		{name: "signature without padding", body: specPayload, wantCode: fax.ECodeUnauthorized, header: func(h http.Header) {
			h.Set(HeaderSignature, strings.TrimRight(specSignature, "="))
		}},
		{name: "changed id", body: specPayload, wantCode: fax.ECodeUnauthorized, header: func(h http.Header) {
			h.Set(HeaderID, specMsgID+"x")
		}},
		{name: "missing id", body: specPayload, wantCode: fax.ECodeUnauthorized, header: func(h http.Header) { h.Del(HeaderID) }},
		{name: "missing timestamp", body: specPayload, wantCode: fax.ECodeUnauthorized, header: func(h http.Header) { h.Del(HeaderTimestamp) }},
		{name: "missing signature", body: specPayload, wantCode: fax.ECodeUnauthorized, header: func(h http.Header) { h.Del(HeaderSignature) }},
		{name: "timestamp not a number", body: specPayload, wantCode: fax.ECodeUnauthorized, header: func(h http.Header) {
			h.Set(HeaderTimestamp, "2021-02-26T02:22:10Z")
		}},
		{name: "too old", body: specPayload, now: now.Add(DefaultTolerance + time.Second), wantCode: fax.ECodeUnauthorized},
		{name: "too new", body: specPayload, now: now.Add(-DefaultTolerance - time.Second), wantCode: fax.ECodeUnauthorized},
		{name: "edge of tolerance", body: specPayload, now: now.Add(DefaultTolerance)},
		{name: "invalid secret", secret: "whsec_???", body: specPayload, wantCode: fax.ECodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := tt.secret
			if secret == "" {
				secret = specSecret
			}
			at := tt.now
			if at.IsZero() {
				at = now
			}
			h := specHeader()
			if tt.header != nil {
				tt.header(h)
			}
			err := Verify(secret, h, []byte(tt.body), at, 0)
			if got := fax.ErrorCode(err); got != tt.wantCode {
				t.Errorf("Verify error = %v (code %q), want code %q", err, got, tt.wantCode)
			}
		})
	}
}

// FuzzVerify feeds arbitrary header values and bodies to Verify: it must never
// panic, must accept only what it can recompute, and must classify every
// refusal as unauthorized.
func FuzzVerify(f *testing.F) {
	f.Add(specMsgID, strconv.Itoa(specTimestamp), specSignature, []byte(specPayload))
	f.Add(specMsgID, strconv.Itoa(specTimestamp), "v1,"+specSignature[3:]+" v1,AAAA", []byte(specPayload))
	f.Add("", "", "", []byte(nil))
	f.Add("msg", "-9223372036854775808", "v1,", []byte("{}"))
	f.Add("msg", "9223372036854775807", ",,, v1 v1,= v2,x", []byte("{}"))
	f.Add("a.b", "+1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", []byte(specPayload))
	now := time.Unix(specTimestamp, 0)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		err := Verify(specSecret, h, body, now, 0)
		if err == nil {
			// Accepted: the timestamp is in range and one entry is the
			// signature we would have made.
			unix, perr := strconv.ParseInt(ts, 10, 64)
			if perr != nil {
				t.Fatalf("accepted unparsable timestamp %q", ts)
			}
			want, _ := Sign(specSecret, id, time.Unix(unix, 0), body)
			found := false
			for _, s := range strings.Split(sig, " ") {
				if s == want {
					found = true
				}
			}
			if !found {
				t.Fatalf("accepted signature %q, want one entry %q", sig, want)
			}
			return
		}
		if got := fax.ErrorCode(err); got != fax.ECodeUnauthorized {
			t.Fatalf("Verify error code = %q (%v), want %q", got, err, fax.ECodeUnauthorized)
		}
	})
}
