package fax_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/faxgate/faxgate/internal/fax"
)

func TestCoverValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cover   fax.Cover
		wantErr string // message prefix; "" for valid
		want    fax.Cover
	}{
		{"empty", fax.Cover{}, "", fax.Cover{}},
		{"trimmed, line breaks made \\n", fax.Cover{To: "  Dr. Smith ", Message: "\r\nHello\r\nthere\rbye\n\n"},
			"", fax.Cover{To: "Dr. Smith", Message: "Hello\nthere\nbye"}},
		{"tabs in the message", fax.Cover{Message: "a\tb"}, "", fax.Cover{Message: "a\tb"}},
		{"non-Latin-1 is kept for the renderer", fax.Cover{Subject: "患者 Ünïcødé"}, "", fax.Cover{Subject: "患者 Ünïcødé"}},
		{"names at the limit", fax.Cover{To: strings.Repeat("é", 100), From: strings.Repeat("a", 100), Subject: strings.Repeat("s", 200)},
			"", fax.Cover{To: strings.Repeat("é", 100), From: strings.Repeat("a", 100), Subject: strings.Repeat("s", 200)}},
		{"message at the limit", fax.Cover{Message: strings.Repeat("m", 4000)}, "", fax.Cover{Message: strings.Repeat("m", 4000)}},
		{"to too long", fax.Cover{To: strings.Repeat("a", 101)}, "cover_to: at most 100 characters, got 101", fax.Cover{}},
		{"from too long", fax.Cover{From: strings.Repeat("é", 101)}, "cover_from: at most 100 characters, got 101", fax.Cover{}},
		{"subject too long", fax.Cover{Subject: strings.Repeat("a", 201)}, "cover_subject: at most 200 characters, got 201", fax.Cover{}},
		{"message too long", fax.Cover{Message: strings.Repeat("a", 4001)}, "cover_message: at most 4000 characters, got 4001", fax.Cover{}},
		{"message of too many lines", fax.Cover{Message: "a" + strings.Repeat("\na", 100)}, "cover_message: at most 100 lines, got 101", fax.Cover{}},
		{"newline in to", fax.Cover{To: "a\nb"}, "cover_to: control character U+000A is not allowed", fax.Cover{}},
		{"tab in subject", fax.Cover{Subject: "a\tb"}, "cover_subject: control character U+0009 is not allowed", fax.Cover{}},
		{"escape in message", fax.Cover{Message: "a\x1b[31mb"}, "cover_message: control character U+001B is not allowed", fax.Cover{}},
		{"C1 control in from", fax.Cover{From: "a\u0085b"}, "cover_from: control character U+0085 is not allowed", fax.Cover{}},
		{"NUL in message", fax.Cover{Message: "a\x00b"}, "cover_message: control character U+0000", fax.Cover{}},
		{"not UTF-8", fax.Cover{Subject: "a\xffb"}, "cover_subject: not valid UTF-8 text", fax.Cover{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.cover
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if c != tt.want {
					t.Fatalf("got %+v, want %+v", c, tt.want)
				}
				return
			}
			if err == nil || fax.ErrorCode(err) != fax.ECodeInvalid || !strings.HasPrefix(fax.ErrorMessage(err), tt.wantErr) {
				t.Fatalf("Validate() = %v, want invalid %q", err, tt.wantErr)
			}
		})
	}
}

func TestCoverSet(t *testing.T) {
	t.Parallel()
	for _, c := range []fax.Cover{{To: "a"}, {From: "a"}, {Subject: "a"}, {Message: "a"}, {Confidential: true}} {
		if !c.Set() {
			t.Errorf("%+v: Set() = false, want true", c)
		}
	}
	if (fax.Cover{}).Set() {
		t.Error("empty cover: Set() = true, want false")
	}
}

// TestSendRequestHashCover: a different cover is a different request
// under the same Idempotency-Key, and a send without a cover hashes as
// it did before covers existed.
func TestSendRequestHashCover(t *testing.T) {
	t.Parallel()
	files := [][]byte{[]byte("doc")}
	plain := fax.SendRequest{To: "+15551234567"}
	// The hash as it was before covers: each part length-prefixed.
	h := sha256.New()
	doc := sha256.Sum256(files[0])
	for _, v := range []string{plain.To, "", "", "", "", hex.EncodeToString(doc[:])} {
		fmt.Fprintf(h, "%d:%s", len(v), v)
	}
	if got, want := plain.Hash(files), hex.EncodeToString(h.Sum(nil)); got != want {
		t.Fatalf("a send without a cover hashes to %s, want %s as before", got, want)
	}
	withCover := plain
	withCover.Cover = fax.Cover{To: "Dr. Smith"}
	confidential := withCover
	confidential.Cover.Confidential = true
	seen := map[string]string{}
	for name, r := range map[string]fax.SendRequest{"plain": plain, "cover": withCover, "confidential": confidential} {
		h := r.Hash(files)
		if other, ok := seen[h]; ok {
			t.Fatalf("%s and %s hash alike", name, other)
		}
		seen[h] = name
	}
	// The fields are length-prefixed: text moved between two cover fields
	// is another request.
	a, b := plain, plain
	a.Cover = fax.Cover{To: "ab", From: "c"}
	b.Cover = fax.Cover{To: "a", From: "bc"}
	if a.Hash(files) == b.Hash(files) {
		t.Fatal("moving text between cover_to and cover_from keeps the hash")
	}
}

// FuzzCoverValidate: whatever the fields hold, Validate never panics, and
// what it accepts is clean UTF-8 within the limits, without control
// characters but for the message's tabs and line feeds.
func FuzzCoverValidate(f *testing.F) {
	f.Add("Dr. Smith", "Clinic", "Referral", "Hello\r\nthere", true)
	f.Add("a\nb", "", "", "", false)
	f.Add("", "\xff", "患者", "\x00\t\u0085", false)
	f.Add(" ", " ", " ", strings.Repeat("\n", 200), true)
	f.Fuzz(func(t *testing.T, to, from, subject, message string, confidential bool) {
		c := fax.Cover{To: to, From: from, Subject: subject, Message: message, Confidential: confidential}
		if err := c.Validate(); err != nil {
			if fax.ErrorCode(err) != fax.ECodeInvalid {
				t.Fatalf("got code %q, want invalid", fax.ErrorCode(err))
			}
			return
		}
		for _, v := range []struct {
			s         string
			max       int
			multiline bool
		}{{c.To, fax.MaxCoverName, false}, {c.From, fax.MaxCoverName, false}, {c.Subject, fax.MaxCoverSubject, false}, {c.Message, fax.MaxCoverMessage, true}} {
			if !utf8.ValidString(v.s) || utf8.RuneCountInString(v.s) > v.max || strings.TrimSpace(v.s) != v.s {
				t.Fatalf("accepted %q", v.s)
			}
			for _, r := range v.s {
				if unicode.IsControl(r) && !(v.multiline && (r == '\n' || r == '\t')) {
					t.Fatalf("accepted control character %U in %q", r, v.s)
				}
			}
		}
		if strings.Count(c.Message, "\n") >= fax.MaxCoverMessageLines {
			t.Fatalf("accepted %d lines", strings.Count(c.Message, "\n")+1)
		}
		// Validating again changes nothing.
		again := c
		if err := again.Validate(); err != nil || again != c {
			t.Fatalf("second Validate: %v, %+v != %+v", err, again, c)
		}
	})
}
