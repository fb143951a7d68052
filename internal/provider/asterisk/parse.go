package asterisk

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// Bounds on what the dialplan posts.
const (
	maxBodyLen = 64 << 10 // the JSON body; a real one is under 300 bytes
	maxIDLen   = 128      // uniqueid
	maxPages   = 10000
)

// knownField reports whether name is a JSON member ParseInbound reads; any
// other member is ignored.
func knownField(name string) bool {
	switch name {
	case "tiff_path", "to_number", "from_number", "faxstatus", "faxpages", "uniqueid",
		"remotestationid", "faxbitrate", "caller_id", "duration":
		return true
	}
	return false
}

// ParseInbound turns the dialplan's post after ReceiveFAX into one inbound
// update:
//
//	{"tiff_path":"/var/spool/asterisk/fax/1700000000.12.tiff","to_number":"+15559870000",
//	 "from_number":"+15551230000","faxstatus":"SUCCESS","faxpages":2,"uniqueid":"1700000000.12"}
//
// faxstatus SUCCESS (or received/COMPLETE) is received; FAILURE (FAILED,
// PARTIAL, INCOMPLETE) is partial. A failure that still got pages keeps its
// document. A failure with zero pages is recorded too, as partial with no
// document and tiff_path not even looked at: the user learns that someone
// tried to fax them, as a missed call would tell, and there is nothing to
// read. Otherwise tiff_path must name a file inside ASTERISK_SPOOL_DIR
// (ResolveSpoolPath); the file is never read here.
//
// faxpages may be a number or a string ("" means 0, as ${FAXPAGES} is empty
// when nothing was received); uniqueid, to_number and from_number may be
// strings or bare numbers, as dialplans write them unquoted. to_number must
// be a number; from_number is kept only when it is one, since caller ids are
// often "anonymous" or a name. Unknown members are ignored; a known member
// given twice, a wrong type, or anything after the object is invalid.
//
// Optional members tell the call's details: remotestationid
// (${REMOTESTATIONID}), faxbitrate (${FAXBITRATE}), caller_id (the caller id
// as given, ${CALLERID(all)}; else from_number's text) and duration
// (seconds, e.g. ${CDR(billsec)}). One that cannot be read is left unknown.
func (p *Provider) ParseInbound(r *http.Request, body []byte) ([]fax.Update, error) {
	if len(body) > maxBodyLen {
		return nil, fax.Errorf(fax.ECodeTooLarge, "the body is larger than %d KB", maxBodyLen>>10)
	}
	m, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	uid, err := m.text("uniqueid", true)
	if err != nil {
		return nil, err
	}
	if uid == "" {
		return nil, fax.Errorf(fax.ECodeInvalid, "field uniqueid is required")
	}
	if !validID(uid) {
		return nil, fax.Errorf(fax.ECodeInvalid, "field uniqueid must be at most %d printable characters without spaces", maxIDLen)
	}
	toText, err := m.text("to_number", true)
	if err != nil {
		return nil, err
	}
	if toText == "" {
		return nil, fax.Errorf(fax.ECodeInvalid, "field to_number is required")
	}
	to, err := fax.ParseLooseNumber(toText)
	if err != nil {
		return nil, fax.Errorf(fax.ECodeInvalid, "field to_number: %s", fax.ErrorMessage(err))
	}
	fromText, err := m.text("from_number", true)
	if err != nil {
		return nil, err
	}
	from := ""
	if n, err := fax.ParseLooseNumber(fromText); err == nil {
		from = string(n)
	}
	st, err := m.text("faxstatus", false)
	if err != nil {
		return nil, err
	}
	ok, err := success(st)
	if err != nil {
		return nil, err
	}
	pages, err := m.pages()
	if err != nil {
		return nil, err
	}

	station, _ := m.text("remotestationid", true)
	rate, _ := m.text("faxbitrate", true)
	callerID, _ := m.text("caller_id", true)
	took, _ := m.text("duration", true)
	if callerID == "" {
		callerID = fromText
	}
	u := fax.Update{
		Details:       carrier.Details(station, carrier.CallerID(callerID, from), took, rate),
		Provider:      Name,
		Kind:          fax.UpdateInbound,
		EventKey:      "asterisk:in:" + uid,
		ProviderFaxID: uid,
		Status:        fax.StatusReceived,
		Pages:         pages,
		From:          from,
		To:            string(to),
	}
	if !ok {
		u.Status = fax.StatusPartial
		if pages == 0 {
			u.Failure = &fax.Failure{Code: fax.FailReception, CarrierMessage: st,
				Message: "Asterisk reported the reception as failed with no pages; there is no document."}
			return []fax.Update{u}, nil
		}
	}
	tiff, err := m.text("tiff_path", false)
	if err != nil {
		return nil, err
	}
	if tiff == "" {
		return nil, fax.Errorf(fax.ECodeInvalid, "field tiff_path is required")
	}
	path, err := p.ResolveSpoolPath(tiff)
	if err != nil {
		return nil, err
	}
	u.Document = &fax.InboundDocument{TIFFPath: path}
	return []fax.Update{u}, nil
}

// success maps faxstatus: ${FAXSTATUS} is SUCCESS or FAILED (FAILURE in some
// dialplans); received/PARTIAL are the words of the documented example.
func success(status string) (bool, error) {
	switch strings.ToUpper(status) {
	case "":
		return false, fax.Errorf(fax.ECodeInvalid, "field faxstatus is required")
	case "SUCCESS", "RECEIVED", "COMPLETE", "COMPLETED":
		return true, nil
	case "FAILURE", "FAILED", "PARTIAL", "INCOMPLETE":
		return false, nil
	}
	return false, fax.Errorf(fax.ECodeInvalid, "field faxstatus must be SUCCESS, received, FAILURE, FAILED or PARTIAL")
}

// object is the known members of the posted JSON object.
type object map[string]json.RawMessage

// decodeObject reads body as exactly one JSON object, keeping the known
// members and refusing a known member given twice (json.Unmarshal would keep
// the last one silently, and match names case-insensitively).
func decodeObject(body []byte) (object, error) {
	notObject := fax.Errorf(fax.ECodeInvalid, "the body must be one JSON object")
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, notObject
	}
	m := object{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, notObject
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, notObject
		}
		if !knownField(key) {
			continue
		}
		if _, dup := m[key]; dup {
			return nil, fax.Errorf(fax.ECodeInvalid, "field %s is given more than once", key)
		}
		m[key] = raw
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, notObject
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fax.Errorf(fax.ECodeInvalid, "the body must be one JSON object with nothing after it")
	}
	return m, nil
}

// text returns a string member, trimmed; absent or null is "". With
// numbers, a bare JSON number is accepted as its literal text.
func (m object) text(name string, numbers bool) (string, error) {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	switch {
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fax.Errorf(fax.ECodeInvalid, "field %s must be a string", name)
		}
		return strings.TrimSpace(s), nil
	case numbers && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')):
		return string(raw), nil
	case numbers:
		return "", fax.Errorf(fax.ECodeInvalid, "field %s must be a string or a number", name)
	}
	return "", fax.Errorf(fax.ECodeInvalid, "field %s must be a string", name)
}

// pages returns faxpages: a whole number, as a JSON number or a string.
func (m object) pages() (int, error) {
	bad := fax.Errorf(fax.ECodeInvalid, "field faxpages must be a whole number from 0 to %d, as a number or a string", maxPages)
	raw, ok := m["faxpages"]
	if !ok || string(raw) == "null" {
		return 0, nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, bad
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > maxPages {
		return 0, bad
	}
	return n, nil
}

func validID(s string) bool {
	if len(s) > maxIDLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}
