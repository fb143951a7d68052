package sinch

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// text is a JSON scalar kept as its text: ids and counts may come as numbers
// or strings, and null means absent.
type text = carrier.Text

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
	kind, boundary, err := carrier.KindOf(r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, err
	}
	if kind == carrier.KindJSON {
		return readJSON(body)
	}
	f, err := carrier.ParseForm(kind, boundary, body, carrier.FormRules{FileFunc: isFileName, Base64: true})
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
	switch {
	case len(raw) == 0 || string(raw) == "null":
		// A flat body is the fax object itself.
		if err := json.Unmarshal(body, &ev.Fax); err != nil {
			return nil, carrier.JSONError("", err)
		}
	case raw[0] == '"':
		// The fax object as a JSON string, as in the multipart part.
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, carrier.JSONError("fax", err)
		}
		if err := json.Unmarshal([]byte(s), &ev.Fax); err != nil {
			return nil, carrier.JSONError("fax", err)
		}
	default:
		if err := json.Unmarshal(raw, &ev.Fax); err != nil {
			return nil, carrier.JSONError("fax", err)
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
		b, err := carrier.DecodeBase64([]byte(s))
		if err != nil {
			return fax.Errorf(fax.ECodeInvalid, "field file is not valid base64")
		}
		e.Document = b
		return nil
	}
	for i, f := range e.Files {
		if s := f.File.String(); s != "" {
			b, err := carrier.DecodeBase64([]byte(s))
			if err != nil {
				return fax.Errorf(fax.ECodeInvalid, "field files[%d].file is not valid base64", i)
			}
			e.Document = b
			return nil
		}
	}
	return nil
}

func readForm(f *carrier.Form) (*wireEvent, error) {
	ev := &wireEvent{}
	for _, a := range []attr{{"event", &ev.Event}, {"eventTime", &ev.EventTime}, {"file", &ev.File}} {
		if v, ok := f.Field(a.name); ok {
			*a.p = text(v)
		}
	}
	if raw, ok := f.Field("fax"); ok {
		if err := json.Unmarshal(raw, &ev.Fax); err != nil {
			return nil, carrier.JSONError("fax", err)
		}
	} else {
		for _, a := range ev.Fax.formAttrs() {
			if v, ok := f.Field(a.name); ok {
				*a.p = text(v)
			}
		}
	}
	if doc, ok := document(f); ok {
		ev.Document = doc
		return ev, nil
	}
	// A urlencoded body can only carry the document as base64 text.
	if err := ev.decodeFiles(); err != nil {
		return nil, err
	}
	return ev, nil
}

// isFileName reports whether a part of this name carries the fax document,
// which Sinch may send without a filename.
func isFileName(name string) bool {
	return name == "file" || name == "files" || name == "files[]"
}

// document returns the first file part that carries the fax document.
func document(f *carrier.Form) ([]byte, bool) {
	for i := range f.Parts {
		if p := &f.Parts[i]; p.File && isFileName(p.Name) {
			return p.Value, true
		}
	}
	return nil, false
}
