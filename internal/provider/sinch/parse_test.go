package sinch

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
	"github.com/faxgate/faxgate/internal/provider/providertest"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden is an Update as stored in testdata/*.golden.json. Document bytes
// are not marshalled by fax.Update, so their size and digest stand in.
type golden struct {
	fax.Update
	DocumentBytes *goldenBytes `json:",omitempty"`
}

type goldenBytes struct {
	Size   int
	SHA256 string
}

func goldenJSON(tb testing.TB, updates []fax.Update) []byte {
	tb.Helper()
	out := []golden{}
	for _, u := range updates {
		g := golden{Update: u}
		if u.Document != nil && u.Document.Bytes != nil {
			sum := sha256.Sum256(u.Document.Bytes)
			g.DocumentBytes = &goldenBytes{len(u.Document.Bytes), hex.EncodeToString(sum[:])}
		}
		out = append(out, g)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return append(b, '\n')
}

// TestWebhookGolden runs every fixture through verification (Basic and
// HMAC) and its parser, and compares the updates with
// testdata/<name>.golden.json.
func TestWebhookGolden(t *testing.T) {
	p := testProvider(t)
	for _, fx := range loadFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			r := newRequest(t, fx.target(), fx.contentType)
			r.SetBasicAuth(testUser, testPass)
			r.Header.Set(SignatureHeader, sign(testSecret, fx.body))
			if err := p.VerifyWebhook(r, fx.body); err != nil {
				t.Fatalf("VerifyWebhook: got %v, want nil", err)
			}
			parse := p.ParseCallback
			if fx.inbound() {
				parse = p.ParseInbound
			}
			updates, err := parse(r, fx.body)
			if err != nil {
				t.Fatalf("parse: got %v, want nil", err)
			}
			got := goldenJSON(t, updates)
			path := "testdata/" + fx.name + ".golden.json"
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("updates differ from %s (-want +got):\n%s", path, diff)
			}
			// The same body parsed twice gives the same EventKey: retried
			// deliveries of one event must collide.
			again, _ := parse(newRequest(t, fx.target(), fx.contentType), fx.body)
			for i := range again {
				if again[i].EventKey != updates[i].EventKey || again[i].EventKey == "" {
					t.Errorf("EventKey %q then %q, want equal and set", updates[i].EventKey, again[i].EventKey)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const js = "application/json"
	const form = "application/x-www-form-urlencoded"
	b := "xyz"
	mp := "multipart/form-data; boundary=" + b
	part := func(name, headers, value string) string {
		return "--" + b + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n" + headers + "\r\n" + value + "\r\n"
	}
	tests := []struct {
		name    string
		inbound bool
		target  string // default callbackPath or inboundPath
		ct      string
		body    string
		want    string // substring of the message
	}{
		{"no job_id", false, "/sinch-callback", js, `{"fax":{"id":"A","status":"COMPLETED"}}`, "job_id is required"},
		{"bad job_id", false, "/sinch-callback?job_id=a%00b", js, `{"fax":{"id":"A","status":"COMPLETED"}}`, "job_id is not a valid id"},
		{"status missing", false, "", js, `{"event":"FAX_COMPLETED","fax":{"id":"A"}}`, "field fax.status is missing"},
		{"body not json", false, "", js, `{"event":`, "body is not valid JSON"},
		{"body array", false, "", js, `[]`, "body is not a JSON object"},
		{"fax wrong type", false, "", js, `{"fax":true}`, "field fax has the wrong JSON type"},
		{"fax string not json", false, "", js, `{"fax":"{"}`, "field fax is not valid JSON"},
		{"fax part not json", false, "", mp, part("fax", "", "{nope") + "--" + b + "--\r\n", "field fax is not valid JSON"},
		{"pages not a number", false, "", js, `{"fax":{"id":"A","status":"COMPLETED","numberOfPages":"x"}}`, "field fax.numberOfPages must be a whole number"},
		{"pages object", false, "", js, `{"fax":{"id":"A","status":"COMPLETED","numberOfPages":{}}}`, "field fax.numberOfPages has the wrong JSON type"},
		{"flat pages negative", false, "", js, `{"id":"A","status":"COMPLETED","num_pages":-2}`, "field fax.num_pages must be"},
		{"fax id too long", false, "", js, `{"id":"` + strings.Repeat("A", 129) + `","status":"COMPLETED"}`, "field fax.id is not a valid id"},
		{"files not array", false, "", js, `{"fax":{"id":"A","status":"COMPLETED"},"files":{}}`, "field files has the wrong JSON type"},
		{"too many parts", false, "", mp, strings.Repeat(part("x", "", "1"), carrier.MaxParts+1) + "--" + b + "--\r\n", "more than 100 parts"},
		{"content type malformed", false, "", "multipart/form-data; boundary", "", "Content-Type is malformed"},
		{"inbound no id", true, "", js, `{"event":"INCOMING_FAX","fax":{"to":"+15559870001"}}`, "field fax.id is missing"},
		{"inbound no to", true, "", js, `{"event":"INCOMING_FAX","fax":{"id":"A","from":"+15551230042"}}`, "field fax.to is missing"},
		{"inbound bad to", true, "", js, `{"id":"A","to":"+0123456789"}`, "field fax.to is not a valid phone number"},
		{"inbound bad from", true, "", js, `{"id":"A","from":"+1 (555) x","to":"+15559870001"}`, "field fax.from is not a valid phone number"},
		{"inbound bad base64", true, "", js, `{"fax":{"id":"A","to":"+15559870001"},"file":"%%%"}`, "field file is not valid base64"},
		{"inbound bad files base64", true, "", js, `{"fax":{"id":"A","to":"+15559870001"},"files":[{"file":""},{"file":"!!"}]}`, "field files[1].file is not valid base64"},
		{"inbound bad form base64", true, "", form, "id=A&to=%2B15559870001&file=%25", "field file is not valid base64"},
		{"inbound bad part base64", true, "", mp, part("file", "Content-Transfer-Encoding: base64\r\n", "***") + "--" + b + "--\r\n", `part "file" is not valid base64`},
		{"inbound bad pagesSentSuccessfully", true, "", js, `{"id":"A","to":"+15559870001","pagesSentSuccessfully":"2.5"}`, "field fax.pagesSentSuccessfully"},
		{"inbound file_url relative", true, "", js, `{"id":"A","to":"+15559870001","file_url":"/v3/faxes/A/file"}`, "field fax.file_url must be an absolute"},
		{"inbound fileUrl credentials", true, "", js, `{"id":"A","to":"+15559870001","fileUrl":"https://u:p@files.example.net/a"}`, "field fax.fileUrl must be an absolute"},
	}
	p := testProvider(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse, target := p.ParseCallback, callbackPath
			if tt.inbound {
				parse, target = p.ParseInbound, inboundPath
			}
			if tt.target != "" {
				target = tt.target
			}
			updates, err := parse(newRequest(t, target, tt.ct), []byte(tt.body))
			providertest.WantCode(t, err, fax.ECodeInvalid)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want a message containing %q", err, tt.want)
			}
			if updates != nil {
				t.Errorf("got updates %v with an error, want none", updates)
			}
		})
	}
}

func TestParseIgnored(t *testing.T) {
	p := testProvider(t)
	tests := []struct {
		name    string
		inbound bool
		body    string
	}{
		{"queued", false, `{"event":"FAX_COMPLETED","fax":{"id":"A","status":"QUEUED"}}`},
		{"unknown status", false, `{"fax":{"id":"A","status":"ARCHIVED"}}`},
		{"incoming fax at callback", false, `{"event":"INCOMING_FAX","fax":{"id":"A","status":"COMPLETED"}}`},
		{"inbound outbound fax", true, `{"event":"FAX_COMPLETED","fax":{"id":"A","direction":"OUTBOUND","status":"COMPLETED","to":"+15557654321"}}`},
		{"inbound in progress", true, `{"event":"INCOMING_FAX","fax":{"id":"A","status":"IN_PROGRESS","to":"+15559870001"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse, target := p.ParseCallback, callbackPath
			if tt.inbound {
				parse, target = p.ParseInbound, inboundPath
			}
			updates, err := parse(newRequest(t, target, "application/json"), []byte(tt.body))
			if err != nil || len(updates) != 0 {
				t.Errorf("got %v, %v; want no updates and no error", updates, err)
			}
		})
	}
}

func TestFailureCodes(t *testing.T) {
	tests := []struct{ typ, code, want string }{
		{"CALL_ERROR", "17", fax.FailBusy},
		{"CALL_ERROR", "16", fax.FailNoAnswer},
		{"LINE_ERROR", "15", fax.FailCongestion},
		{"CALL_ERROR", "34", fax.FailNotOperational},
		{"CALL_ERROR", "60", fax.FailLine},
		{"LINE_ERROR", "", fax.FailLine},
		{"DOCUMENT_CONVERSION_ERROR", "41", fax.FailDocument},
		{"FAX_ERROR", "50", fax.FailFax},
		{"FATAL_ERROR", "", fax.FailCarrier},
		{"GENERAL_ERROR", "1", fax.FailCarrier},
		{"", "", fax.FailCarrier},
	}
	for _, tt := range tests {
		f := newFailure(tt.typ, tt.code, "m")
		if f.Code != tt.want || f.Message == "" || f.CarrierType != tt.typ || f.CarrierCode != tt.code || f.CarrierMessage != "m" {
			t.Errorf("newFailure(%q, %q) = %+v, want code %s", tt.typ, tt.code, f, tt.want)
		}
	}
}
