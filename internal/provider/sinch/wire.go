package sinch

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
)

// text is a JSON scalar kept as its text: ids and counts may come as numbers
// or strings, and null means absent.
type text string

// UnmarshalJSON accepts a string, number, boolean or null.
func (t *text) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0 || string(b) == "null":
		*t = ""
	case b[0] == '"' && bytes.IndexByte(b, '\\') < 0:
		// The decoder has validated the literal; without escapes its text
		// is what lies between the quotes.
		*t = text(b[1 : len(b)-1])
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
	case b[0] == '{' || b[0] == '[':
		return &json.UnmarshalTypeError{Value: "object", Type: reflect.TypeFor[string]()}
	default:
		*t = text(b)
	}
	return nil
}

// String returns t trimmed, with invalid UTF-8 replaced: the values end up
// in the store and in users' webhooks.
func (t text) String() string { return strings.TrimSpace(strings.ToValidUTF8(string(t), "\uFFFD")) }

// wireFax is the fields of Sinch's Fax object that faxgate reads, plus the
// num_pages and file_url spellings of the simplified relay shape.
type wireFax struct {
	ID                    text `json:"id"`
	Direction             text `json:"direction"`
	From                  text `json:"from"`
	To                    text `json:"to"`
	NumberOfPages         text `json:"numberOfPages"`
	NumPages              text `json:"num_pages"`
	PagesSentSuccessfully text `json:"pagesSentSuccessfully"`
	Status                text `json:"status"`
	CompletedTime         text `json:"completedTime"`
	ErrorType             text `json:"errorType"`
	ErrorCode             text `json:"errorCode"`
	ErrorMessage          text `json:"errorMessage"`
	FileURL               text `json:"file_url"`
	FileURLCamel          text `json:"fileUrl"`
}

// formAttrs maps form field names to the fields of w, for form bodies that
// send the fax as plain fields instead of a JSON "fax" part.
func (w *wireFax) formAttrs() []attr {
	return []attr{
		{"id", &w.ID}, {"direction", &w.Direction}, {"from", &w.From}, {"to", &w.To},
		{"numberOfPages", &w.NumberOfPages}, {"num_pages", &w.NumPages},
		{"pagesSentSuccessfully", &w.PagesSentSuccessfully}, {"status", &w.Status},
		{"completedTime", &w.CompletedTime}, {"errorType", &w.ErrorType},
		{"errorCode", &w.ErrorCode}, {"errorMessage", &w.ErrorMessage},
		{"file_url", &w.FileURL}, {"fileUrl", &w.FileURLCamel},
	}
}

type wireFile struct {
	File     text `json:"file"`
	FileType text `json:"fileType"`
}

// wireEvent is one webhook: the event fields around the fax object, and the
// document decoded from whichever of file, files or a file part carried it.
type wireEvent struct {
	Event     text            `json:"event"`
	EventTime text            `json:"eventTime"`
	RawFax    json.RawMessage `json:"fax"`
	File      text            `json:"file"` // base64
	Files     []wireFile      `json:"files"`

	Fax      wireFax `json:"-"`
	Document []byte  `json:"-"`
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
	if kind == kindJSON {
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
		return nil, jsonError("", err)
	}
	raw := bytes.TrimSpace(ev.RawFax)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		// A flat body is the fax object itself.
		if err := json.Unmarshal(body, &ev.Fax); err != nil {
			return nil, jsonError("", err)
		}
	case raw[0] == '"':
		// The fax object as a JSON string, as in the multipart part.
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, jsonError("fax", err)
		}
		if err := json.Unmarshal([]byte(s), &ev.Fax); err != nil {
			return nil, jsonError("fax", err)
		}
	default:
		if err := json.Unmarshal(raw, &ev.Fax); err != nil {
			return nil, jsonError("fax", err)
		}
	}
	if err := ev.decodeFiles(); err != nil {
		return nil, err
	}
	return ev, nil
}

// decodeFiles decodes the first non-empty base64 document of file and
// files[].file.
func (e *wireEvent) decodeFiles() error {
	if s := e.File.String(); s != "" {
		b, err := decodeBase64([]byte(s))
		if err != nil {
			return fax.Errorf(fax.ECodeInvalid, "field file is not valid base64")
		}
		e.Document = b
		return nil
	}
	for i, f := range e.Files {
		if s := f.File.String(); s != "" {
			b, err := decodeBase64([]byte(s))
			if err != nil {
				return fax.Errorf(fax.ECodeInvalid, "field files[%d].file is not valid base64", i)
			}
			e.Document = b
			return nil
		}
	}
	return nil
}

func readForm(f *form) (*wireEvent, error) {
	ev := &wireEvent{}
	for _, a := range []attr{{"event", &ev.Event}, {"eventTime", &ev.EventTime}, {"file", &ev.File}} {
		if v, ok := f.field(a.name); ok {
			*a.p = text(v)
		}
	}
	if raw, ok := f.field("fax"); ok {
		if err := json.Unmarshal(raw, &ev.Fax); err != nil {
			return nil, jsonError("fax", err)
		}
	} else {
		for _, a := range ev.Fax.formAttrs() {
			if v, ok := f.field(a.name); ok {
				*a.p = text(v)
			}
		}
	}
	if doc, ok := f.document(); ok {
		ev.Document = doc
		return ev, nil
	}
	// A urlencoded body can only carry the document as base64 text.
	if err := ev.decodeFiles(); err != nil {
		return nil, err
	}
	return ev, nil
}

// decodeBase64 decodes standard or URL-safe base64, padded or not; line
// breaks are ignored.
func decodeBase64(b []byte) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		out := make([]byte, enc.DecodedLen(len(b)))
		var n int
		if n, err = enc.Decode(out, b); err == nil {
			return out[:n], nil
		}
	}
	return nil, err
}

// jsonError turns a decoding error of the value at field into a user-safe
// *fax.Error ("" is the whole body).
func jsonError(field string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		name := field
		if te.Field != "" {
			name = strings.TrimPrefix(field+"."+te.Field, ".")
		}
		if name == "" {
			return fax.Errorf(fax.ECodeInvalid, "body is not a JSON object")
		}
		return fax.Errorf(fax.ECodeInvalid, "field %s has the wrong JSON type", name)
	}
	if field == "" {
		return fax.Errorf(fax.ECodeInvalid, "body is not valid JSON")
	}
	return fax.Errorf(fax.ECodeInvalid, "field %s is not valid JSON", field)
}
