package phaxio

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// text is a JSON scalar kept as its text: Phaxio and the relays in front of
// it send ids and counts as numbers or as strings, and null for absent.
type text = carrier.Text

// wireRecipient is one entry of a fax object's recipients.
type wireRecipient struct {
	PhoneNumber  text  `json:"phone_number"`
	Status       text  `json:"status"`
	RetryCount   text  `json:"retry_count"`
	ErrorType    text  `json:"error_type"`
	ErrorID      text  `json:"error_id"`
	ErrorMessage text  `json:"error_message"`
	Bitrate      speed `json:"bitrate"`
}

// speed is a recipient's bitrate in bits per second, read as a number
// rather than kept as text: Phaxio repeats it on every callback of a sent
// fax, and a value that is not a speed is unknown (0), never an error.
type speed int

func (s *speed) UnmarshalJSON(b []byte) error {
	*s = speed(carrier.BitRate(b))
	return nil
}

// wireFax is the fields of Phaxio's fax object that faxgate reads, plus the
// from/to/file_url spellings of Faxbot-style relays.
type wireFax struct {
	ID           text            `json:"id"`
	Direction    text            `json:"direction"`
	Status       text            `json:"status"`
	NumPages     text            `json:"num_pages"`
	CompletedAt  text            `json:"completed_at"`
	CallerID     text            `json:"caller_id"`
	FromNumber   text            `json:"from_number"`
	ToNumber     text            `json:"to_number"`
	From         text            `json:"from"`
	To           text            `json:"to"`
	FileURL      text            `json:"file_url"`
	ErrorType    text            `json:"error_type"`
	ErrorID      text            `json:"error_id"`
	ErrorMessage text            `json:"error_message"`
	Recipients   []wireRecipient `json:"recipients"`
}

// formAttrs maps form field names to the scalar fields of w, for bodies that
// send the fax as fax[name] or name fields instead of a JSON "fax" field.
func (w *wireFax) formAttrs() []attr {
	return []attr{
		{"id", &w.ID}, {"direction", &w.Direction}, {"status", &w.Status},
		{"num_pages", &w.NumPages}, {"completed_at", &w.CompletedAt},
		{"caller_id", &w.CallerID}, {"from_number", &w.FromNumber},
		{"to_number", &w.ToNumber}, {"from", &w.From}, {"to", &w.To},
		{"file_url", &w.FileURL}, {"error_type", &w.ErrorType},
		{"error_id", &w.ErrorID}, {"error_message", &w.ErrorMessage},
	}
}

// wireEvent is one webhook: the event fields around the fax object.
type wireEvent struct {
	EventType  text            `json:"event_type"`
	Page       text            `json:"page"`
	RetryCount text            `json:"retry_count"`
	Success    text            `json:"success"`   // legacy webhooks
	Message    text            `json:"message"`   // legacy webhooks
	Direction  text            `json:"direction"` // legacy webhooks
	FileURL    text            `json:"file_url"`
	RawFax     json.RawMessage `json:"fax"`

	Fax  wireFax `json:"-"`
	File []byte  `json:"-"` // the file part named "file", if any
}

func (e *wireEvent) formAttrs() []attr {
	return []attr{
		{"event_type", &e.EventType}, {"page", &e.Page}, {"retry_count", &e.RetryCount},
		{"success", &e.Success}, {"message", &e.Message}, {"direction", &e.Direction},
		{"file_url", &e.FileURL},
	}
}

type attr struct {
	name string
	p    *text
}

// readEvent reads a webhook body of any shape into a wireEvent. Errors are
// *fax.Error with code invalid naming what is wrong.
func readEvent(r *http.Request, body []byte) (*wireEvent, error) {
	kind, boundary, err := kindOf(r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, err
	}
	if kind == carrier.KindJSON {
		return readJSON(body)
	}
	f, err := parseForm(kind, boundary, body)
	if err != nil {
		return nil, err
	}
	return readForm(f)
}

func readJSON(body []byte) (*wireEvent, error) {
	ev := &wireEvent{}
	if err := json.Unmarshal(body, ev); err != nil {
		return nil, carrier.JSONError("", err)
	}
	raw := bytes.TrimSpace(ev.RawFax)
	if len(raw) == 0 || string(raw) == "null" {
		// A flat body is the fax object itself.
		if err := json.Unmarshal(body, &ev.Fax); err != nil {
			return nil, carrier.JSONError("", err)
		}
		return ev, nil
	}
	if raw[0] == '"' {
		// The fax object as a JSON string, as in the multipart field.
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, carrier.JSONError("fax", err)
		}
		raw = []byte(s)
	}
	if err := decodeFax(raw, &ev.Fax); err != nil {
		return nil, carrier.JSONError("fax", err)
	}
	return ev, nil
}

func readForm(f *carrier.Form) (*wireEvent, error) {
	ev := &wireEvent{}
	for _, a := range ev.formAttrs() {
		if v, ok := f.Field(a.name); ok {
			*a.p = text(v)
		}
	}
	if raw, ok := f.Field("fax"); ok {
		if err := decodeFax(raw, &ev.Fax); err != nil {
			return nil, carrier.JSONError("fax", err)
		}
	} else {
		for _, a := range ev.Fax.formAttrs() {
			if v, ok := f.Field("fax[" + a.name + "]"); ok {
				*a.p = text(v)
			} else if v, ok := f.Field(a.name); ok {
				*a.p = text(v)
			}
		}
	}
	ev.File, _ = f.File("file")
	return ev, nil
}

// decodeFax decodes the JSON fax object raw into f (which must be zero) as
// json.Unmarshal does, taking the fast path of carrier.ScanObject when raw
// has the plain shape.
func decodeFax(raw []byte, f *wireFax) error {
	if scanFax(raw, f) {
		return nil
	}
	*f = wireFax{}
	return json.Unmarshal(raw, f)
}

// scanFax decodes raw into f through carrier.ScanObject, and reports
// whether it could: false leaves f partly set, for json.Unmarshal to redo.
func scanFax(raw []byte, f *wireFax) bool {
	recipients := false
	return carrier.ScanObject(raw, func(key, v []byte) bool {
		if p := f.field(key); p != nil {
			return p.UnmarshalJSON(v) == nil
		}
		if string(key) != "recipients" {
			return !foldsTo(key, faxFields)
		}
		if recipients {
			return false // a repeated array merges into the first in encoding/json
		}
		recipients = true
		return scanRecipients(v, &f.Recipients)
	})
}

// field is the Text field of f named key exactly.
func (w *wireFax) field(key []byte) *text {
	switch string(key) {
	case "id":
		return &w.ID
	case "direction":
		return &w.Direction
	case "status":
		return &w.Status
	case "num_pages":
		return &w.NumPages
	case "completed_at":
		return &w.CompletedAt
	case "caller_id":
		return &w.CallerID
	case "from_number":
		return &w.FromNumber
	case "to_number":
		return &w.ToNumber
	case "from":
		return &w.From
	case "to":
		return &w.To
	case "file_url":
		return &w.FileURL
	case "error_type":
		return &w.ErrorType
	case "error_id":
		return &w.ErrorID
	case "error_message":
		return &w.ErrorMessage
	}
	return nil
}

// field is the Text field of r named key exactly.
func (r *wireRecipient) field(key []byte) *text {
	switch string(key) {
	case "phone_number":
		return &r.PhoneNumber
	case "status":
		return &r.Status
	case "retry_count":
		return &r.RetryCount
	case "error_type":
		return &r.ErrorType
	case "error_id":
		return &r.ErrorID
	case "error_message":
		return &r.ErrorMessage
	}
	return nil
}

var (
	// faxFields are the keys of the fax object that faxgate reads: the
	// scalar ones formAttrs maps, and recipients.
	faxFields       = append(attrNames((&wireFax{}).formAttrs()), "recipients")
	recipientFields = []string{"phone_number", "status", "retry_count", "error_type", "error_id", "error_message", "bitrate"}
)

func attrNames(as []attr) []string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.name
	}
	return names
}

// foldsTo reports whether key, not one of names exactly, matches one of
// them without regard to case, as encoding/json matches keys to fields.
// ScanObject's keys are ASCII, whose case folding is ASCII's.
func foldsTo(key []byte, names []string) bool {
	for _, n := range names {
		if len(n) == len(key) && strings.EqualFold(n, string(key)) {
			return true
		}
	}
	return false
}

// scanRecipients decodes the recipients value v into rs: null, or an array
// of plain objects; anything else is left to encoding/json.
func scanRecipients(v []byte, rs *[]wireRecipient) bool {
	if string(v) == "null" {
		*rs = nil
		return true
	}
	out := []wireRecipient{}
	if !carrier.ScanArray(v, func(e []byte) bool {
		var r wireRecipient
		if !carrier.ScanObject(e, func(key, val []byte) bool {
			if p := r.field(key); p != nil {
				return p.UnmarshalJSON(val) == nil
			}
			if string(key) == "bitrate" {
				return r.Bitrate.UnmarshalJSON(val) == nil
			}
			return !foldsTo(key, recipientFields)
		}) {
			return false
		}
		out = append(out, r)
		return true
	}) {
		return false
	}
	*rs = out
	return true
}
