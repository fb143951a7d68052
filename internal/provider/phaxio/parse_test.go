package phaxio

import (
	"bytes"
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

// TestWebhookGolden runs every fixture through both signature schemes (the
// SHA-1 one for form bodies only) and its parser, and compares the updates
// with testdata/<name>.golden.json.
func TestWebhookGolden(t *testing.T) {
	p := testProvider(t)
	for _, fx := range loadFixtures(t) {
		t.Run(fx.name, func(t *testing.T) {
			sigs := []string{sha256Sig(testSecret, fx.body)}
			if s := sha1Sig(t, testToken, testPublicURL+fx.target(), fx.contentType, fx.body); s != "" {
				sigs = append(sigs, s)
			} else if !strings.Contains(fx.contentType, "json") {
				t.Fatalf("form fixture %s got no SHA-1 signature", fx.name)
			}
			for _, sig := range sigs {
				r := newRequest(t, fx.target(), fx.contentType)
				r.Header.Set(SignatureHeader, sig)
				if err := p.VerifyWebhook(r, fx.body); err != nil {
					t.Fatalf("VerifyWebhook with %d-digit signature: got %v, want nil", len(sig), err)
				}
			}
			r := newRequest(t, fx.target(), fx.contentType)
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
	const form = "application/x-www-form-urlencoded"
	const js = "application/json"
	mp := readFixture(t, "callback-multipart-success")
	b := "xyz"
	many := &bytes.Buffer{}
	for i := 0; i <= carrier.MaxParts; i++ {
		many.WriteString("--" + b + "\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n")
	}
	many.WriteString("--" + b + "--\r\n")
	big := "--" + b + "\r\nContent-Disposition: form-data; name=\"fax\"\r\n\r\n" + strings.Repeat("x", carrier.MaxFieldBytes+1) + "\r\n--" + b + "--\r\n"

	tests := []struct {
		name    string
		inbound bool
		target  string // default callbackPath or inboundPath
		ct      string
		body    string
		want    string // substring of the message
	}{
		{"no job_id", false, "/phaxio-callback", mp.contentType, string(mp.body), "job_id"},
		{"empty job_id", false, "/phaxio-callback?job_id=", form, "fax[id]=1&fax[status]=success", "job_id"},
		{"fax not json", false, "", form, "fax=%7Bnope&event_type=fax_completed", "field fax is not valid JSON"},
		{"fax array", false, "", form, "fax=%5B%5D", "field fax has the wrong JSON type"},
		{"fax num_pages object", false, "", js, `{"fax":{"id":1,"status":"success","num_pages":{}}}`, "field fax.num_pages has the wrong JSON type"},
		{"recipients not array", false, "", js, `{"fax":{"id":1,"status":"failure","recipients":5}}`, "field fax.recipients has the wrong JSON type"},
		{"body not json", false, "", js, `{"fax":`, "body is not valid JSON"},
		{"body array", false, "", js, `[1]`, "body is not a JSON object"},
		{"fax is number", false, "", js, `{"fax":7}`, "field fax has the wrong JSON type"},
		{"fax string not json", false, "", js, `{"fax":"{oops"}`, "field fax is not valid JSON"},
		{"num_pages not a number", false, "", form, "fax[id]=1&fax[status]=success&fax[num_pages]=two", "field fax.num_pages must be a whole number"},
		{"num_pages negative", false, "", form, "fax[id]=1&fax[status]=success&fax[num_pages]=-1", "fax.num_pages"},
		{"status missing", false, "", form, "fax[id]=1", "field fax.status is missing"},
		{"page missing", false, "", form, "fax[id]=1&fax[status]=inprogress&event_type=transmitting_page", "field page is missing"},
		{"page zero", false, "", form, "fax[id]=1&event_type=transmitting_page&page=0", "field page must be"},
		{"retry_count missing", false, "", form, "fax[id]=1&event_type=retry_scheduled", "field retry_count is missing"},
		{"bad escape", false, "", form, "fax[id]=%zz", "form body is malformed"},
		{"too many fields", false, "", form, strings.Repeat("a=1&", carrier.MaxParts) + "a=1", "more than 100 fields"},
		{"too many parts", false, "", "multipart/form-data; boundary=" + b, many.String(), "more than 100 parts"},
		{"field too big", false, "", "multipart/form-data; boundary=" + b, big, `field "fax" is larger`},
		{"multipart malformed", false, "", "multipart/form-data; boundary=" + b, "--" + b + "\r\nno headers end", "multipart body is malformed"},
		{"no boundary", false, "", "multipart/form-data", string(mp.body), "no boundary"},
		{"content type malformed", false, "", "multipart/form-data; boundary", string(mp.body), "Content-Type is malformed"},
		{"inbound no id", true, "", js, `{"fax":{"to_number":"+15559870001","status":"success"}}`, "field fax.id is missing"},
		{"inbound no to", true, "", js, `{"fax":{"id":5,"from_number":"+15551230042"}}`, "field fax.to_number is missing"},
		{"inbound bad to", true, "", js, `{"fax":{"id":5,"to_number":"+1555"}}`, "field fax.to_number is not a valid phone number"},
		{"inbound bad from", true, "", js, `{"fax":{"id":5,"from_number":"12-ab","to_number":"+15559870001"}}`, "field fax.from_number is not a valid phone number"},
		{"inbound bad to alias", true, "", js, `{"id":5,"to":"call me"}`, "field fax.to is not a valid phone number"},
		{"job_id with space", false, "/phaxio-callback?job_id=fax+1", form, "fax[id]=1&fax[status]=success", "job_id is not a valid id"},
		{"fax id too long", false, "", form, "fax[id]=" + strings.Repeat("9", 129) + "&fax[status]=success", "field fax.id is not a valid id"},
		{"inbound fax id control", true, "", js, `{"id":"5\n6","to":"+15559870001"}`, "field fax.id is not a valid id"},
		{"inbound file_url long", true, "", js, `{"id":5,"to":"+15559870001","file_url":"https://a.example/` + strings.Repeat("a", 2048) + `"}`, "longer than 2048"},
		{"inbound file_url ftp", true, "", js, `{"id":5,"to":"+15559870001","file_url":"ftp://files.example.net/a.pdf"}`, "field fax.file_url"},
	}
	p := testProvider(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := tt.target
			parse := p.ParseCallback
			if tt.inbound {
				parse = p.ParseInbound
			}
			if target == "" {
				target = callbackPath
				if tt.inbound {
					target = inboundPath
				}
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
		{"queued", false, "fax[id]=1&fax[status]=queued"},
		{"unknown status", false, "fax[id]=1&fax[status]=teleported"},
		{"unknown event type", false, "fax[id]=1&fax[status]=success&event_type=fax_archived"},
		{"inbound page event", true, "fax[id]=1&event_type=transmitting_page&page=1"},
		{"inbound sent fax", true, "fax[id]=1&fax[direction]=sent&fax[status]=success&fax[to_number]=%2B15557654321"},
		{"inbound legacy sent", true, "direction=sent&fax=%7B%22id%22%3A1%2C%22status%22%3A%22success%22%7D"},
		{"inbound not final", true, "fax[id]=1&fax[status]=inprogress&fax[to_number]=%2B15559870001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse, target := p.ParseCallback, callbackPath
			if tt.inbound {
				parse, target = p.ParseInbound, inboundPath
			}
			updates, err := parse(newRequest(t, target, "application/x-www-form-urlencoded"), []byte(tt.body))
			if err != nil || len(updates) != 0 {
				t.Errorf("got %v, %v; want no updates and no error", updates, err)
			}
		})
	}
}

func TestFailureCodes(t *testing.T) {
	tests := []struct{ typ, id, want string }{
		{"lineError", "17", fax.FailBusy},
		{"lineError", "16", fax.FailNoAnswer},
		{"", "15", fax.FailCongestion},
		{"faxError", "34", fax.FailNotOperational},
		{"documentConversionError", "41", fax.FailDocument},
		{"DOCUMENT_CONVERSION_ERROR", "", fax.FailDocument},
		{"lineError", "", fax.FailLine},
		{"faxError", "96", fax.FailFax},
		{"fatalError", "", fax.FailCarrier},
		{"generalError", "1", fax.FailCarrier},
		{"", "", fax.FailCarrier},
	}
	for _, tt := range tests {
		f := newFailure(tt.typ, tt.id, "m")
		if f.Code != tt.want || f.Message == "" || f.CarrierType != tt.typ || f.CarrierCode != tt.id || f.CarrierMessage != "m" {
			t.Errorf("newFailure(%q, %q) = %+v, want code %s", tt.typ, tt.id, f, tt.want)
		}
	}
}
