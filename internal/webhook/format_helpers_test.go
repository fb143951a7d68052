package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

// outboundFax is a fax faxgate sent, as the store holds it when status is
// reached.
func outboundFax(status fax.Status) *fax.Fax {
	created := time.Date(2026, 11, 2, 8, 29, 1, 250_000_000, time.UTC)
	f := &fax.Fax{
		ID: "fax_01JDZ3W0000000000000000000", Direction: fax.Outbound, Status: status,
		To: "+61755550123", From: "+14155550100", Provider: "phaxio", ProviderFaxID: "323034811",
		Pages: 3, CreatedAt: created, UpdatedAt: created.Add(time.Minute),
	}
	if status.Final() {
		done := created.Add(90 * time.Second)
		f.CompletedAt = &done
	}
	switch status {
	case fax.StatusSent:
		f.PagesSent = 3
	case fax.StatusFailed:
		f.PagesSent = 1
		f.Failure = &fax.Failure{Code: fax.FailBusy, Message: "The receiving line was busy.",
			CarrierType: "lineError", CarrierCode: "17", CarrierMessage: "Busy"}
	case fax.StatusCanceled:
		f.Failure = &fax.Failure{Code: fax.FailCanceled, Message: "canceled before it was sent"}
	}
	return f
}

// inboundFax is a fax faxgate received.
func inboundFax(status fax.Status) *fax.Fax {
	created := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	f := &fax.Fax{
		ID: "fax_01JDZ4R0000000000000000000", Direction: fax.Inbound, Status: status,
		To: "+61755550123", From: "+61299990000", Provider: "gofax", ProviderFaxID: "4851543",
		Pages: 2, DocumentSHA256: "ab12", DocumentSize: 2048,
		CreatedAt: created, UpdatedAt: created, CompletedAt: &created,
	}
	if status == fax.StatusPartial {
		f.Failure = &fax.Failure{Code: fax.FailLine, Message: "The line dropped during the transfer."}
	}
	return f
}

// faxEvent is the event of type typ about f, its data frozen as the store
// freezes it.
func faxEvent(t testing.TB, typ fax.EventType, f *fax.Fax, page, retry int) fax.Event {
	t.Helper()
	data, err := wire.MarshalEventData(f, page, retry)
	if err != nil {
		t.Fatal(err)
	}
	return fax.Event{
		ID: "evt_01JDZ3X4P5Q6R7S8T9V0W1X2Y3", Type: typ, FaxID: f.ID,
		CreatedAt: time.Date(2026, 11, 2, 8, 30, 31, 250_000_000, time.UTC), Data: data,
	}
}

// formatJob is a delivery of ev to rawURL in format.
func formatJob(id, rawURL, format string, ev fax.Event) fax.DeliveryJob {
	job := newJob(id, rawURL)
	job.Endpoint.Format = format
	job.Event = ev
	job.Delivery.EventID, job.Delivery.EventType, job.Delivery.FaxID = ev.ID, ev.Type, ev.FaxID
	return job
}

// buildFor runs the builder of job's format against the URL it names, as the
// worker would.
func buildFor(t *testing.T, job fax.DeliveryJob, now time.Time) *http.Request {
	t.Helper()
	return buildWithDoc(t, job, now, nil)
}

// buildWithDoc is buildFor with the document the worker read for the job.
func buildWithDoc(t *testing.T, job fax.DeliveryJob, now time.Time, doc []byte) *http.Request {
	t.Helper()
	target, _, _, _, err := splitURL(job.Endpoint.URL)
	if err != nil {
		t.Fatal(err)
	}
	req, err := builders()[job.Endpoint.Format](context.Background(), &job, target, now, doc)
	if err != nil {
		t.Fatalf("build %s: %v", job.Endpoint.Format, err)
	}
	return req
}

// dumpRequest renders a request for a golden file: the request line, the
// headers that make up the format, a blank line and the body.
func dumpRequest(t *testing.T, req *http.Request) []byte {
	t.Helper()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s\n", req.Method, req.URL.RequestURI())
	var names []string
	for k := range req.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(req.Header[k], ", "))
	}
	b.WriteString("\n")
	b.Write(body)
	return b.Bytes()
}

// phaxioSignatureByHand is Phaxio's documented signature computed from
// scratch, not with the code under test: the URL, then every field sorted by
// name as name+value (values of one name in order), then every file sorted
// by part name as name+hex(SHA-1 of its bytes); lowercase hex HMAC-SHA1 keyed
// with the token.
func phaxioSignatureByHand(token, callbackURL string, form *multipart.Form) string {
	var s strings.Builder
	s.WriteString(callbackURL)
	var names []string
	for k := range form.Value {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range form.Value[k] {
			s.WriteString(k + v)
		}
	}
	names = names[:0]
	for k := range form.File {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, fh := range form.File[k] {
			f, _ := fh.Open()
			data, _ := io.ReadAll(f)
			f.Close()
			sum := sha1.Sum(data)
			s.WriteString(k + hex.EncodeToString(sum[:]))
		}
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(s.String()))
	return hex.EncodeToString(m.Sum(nil))
}

// standardSignatureByHand is the Standard Webhooks v1 signature computed
// from the spec, not with the code under test.
func standardSignatureByHand(t *testing.T, secret, id, ts string, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// checkStandardHeaders checks a received request's Standard Webhooks headers
// against the hand-made signature.
func checkStandardHeaders(t *testing.T, r received, secret, eventID string, at time.Time) {
	t.Helper()
	ts := fmt.Sprint(at.Unix())
	if got := r.header.Get(HeaderID); got != eventID {
		t.Errorf("webhook-id = %q, want %q", got, eventID)
	}
	if got := r.header.Get(HeaderTimestamp); got != ts {
		t.Errorf("webhook-timestamp = %q, want %q", got, ts)
	}
	want := standardSignatureByHand(t, secret, eventID, ts, r.body)
	if got := r.header.Get(HeaderSignature); got != want {
		t.Errorf("webhook-signature = %q, want %q", got, want)
	}
}

// parseMultipart parses a received multipart/form-data body.
func parseMultipart(t *testing.T, r received) *multipart.Form {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("Content-Type %q (%v), want multipart/form-data", r.header.Get("Content-Type"), err)
	}
	form, err := multipart.NewReader(bytes.NewReader(r.body), params["boundary"]).ReadForm(1 << 20)
	if err != nil {
		t.Fatalf("ReadForm: %v", err)
	}
	return form
}

// withUserinfo puts user:pass@ into an http URL.
func withUserinfo(raw, user, pass string) string {
	u, _ := url.Parse(raw)
	u.User = url.UserPassword(user, pass)
	return u.String()
}

// mustRead reads a built request's body.
func mustRead(t *testing.T, req *http.Request) []byte {
	t.Helper()
	b, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustData reads an event's fax data.
func mustData(t *testing.T, ev fax.Event) *wire.EventData {
	t.Helper()
	d, err := faxData(ev)
	if err != nil {
		t.Fatal(err)
	}
	return &d
}

// decodeBase64 decodes a base64 body with line breaks.
func decodeBase64(b []byte) ([]byte, error) {
	return io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(b)))
}
