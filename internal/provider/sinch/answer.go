package sinch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
)

// LabelName is the Sinch label faxgate puts its fax id in
// (labels[faxgate_id]), so that Find can recognise the fax after a crash.
const LabelName = "faxgate_id"

// jsonObject decodes body into v when it is a JSON object.
func jsonObject(body []byte, v any) error {
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("the answer is not a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("the answer is not a readable JSON object")
	}
	return nil
}

// readSendAnswer reads Sinch's answer to POST /faxes, the Fax object, and
// returns its id. A fax object whose status is already FAILURE (a document
// Sinch could not convert, say) also gives its failure. Any other body is an
// error: whether Sinch took the fax is then unknown.
func readSendAnswer(body []byte) (id string, failed *fax.Failure, err error) {
	var w wireFax
	if err := jsonObject(body, &w); err != nil {
		return "", nil, err
	}
	id = w.ID.String()
	if id == "" || !validID(id) {
		return "", nil, fmt.Errorf("the answer has no valid fax id")
	}
	if strings.EqualFold(w.Status.String(), "FAILURE") {
		failed = newFailure(w.ErrorType.String(), w.ErrorCode.String(), w.ErrorMessage.String())
	}
	return id, failed, nil
}

// listedFax is the part of a listed Fax object that ties it to a faxgate
// fax: the label Send sets, or the callback URL with its job_id.
type listedFax struct {
	ID          text            `json:"id"`
	Labels      json.RawMessage `json:"labels"`
	CallbackURL text            `json:"callbackUrl"`
}

// readFindAnswer looks for faxID in Sinch's answer to GET /faxes
// ({"faxes":[…], …}). found is false when no listed fax carries the label
// or a callback URL for it; that does not prove Sinch lacks the fax (see
// Find). A body without a faxes list is an error.
func readFindAnswer(body []byte, faxID string) (id string, found bool, err error) {
	var a struct {
		Faxes *[]json.RawMessage `json:"faxes"`
	}
	if err := jsonObject(body, &a); err != nil {
		return "", false, err
	}
	if a.Faxes == nil {
		return "", false, fmt.Errorf("the answer has no faxes list")
	}
	for _, raw := range *a.Faxes {
		var item listedFax
		if json.Unmarshal(raw, &item) != nil || !item.names(faxID) {
			continue
		}
		if id = item.ID.String(); id == "" || !validID(id) {
			return "", false, fmt.Errorf("the matching fax has no valid id")
		}
		return id, true, nil
	}
	return "", false, nil
}

// names reports whether the listed fax is faxgate's fax faxID.
func (f *listedFax) names(faxID string) bool {
	var labels map[string]text
	if json.Unmarshal(f.Labels, &labels) == nil && labels[LabelName].String() == faxID {
		return true
	}
	u, err := url.Parse(f.CallbackURL.String())
	return err == nil && strings.HasSuffix(u.Path, CallbackPath) && u.Query().Get("job_id") == faxID
}

// readError reads the message and error type of a refusal: Sinch's
// {code, status, message, details[]} (the type taken from errorType, a
// detail's errorType, reason or type, else status) or OAuth2's
// {error, error_description}. Other bodies give "", "".
func readError(body []byte) (msg, errorType string) {
	var e struct {
		Status      text            `json:"status"`
		Message     text            `json:"message"`
		ErrorType   text            `json:"errorType"`
		Details     json.RawMessage `json:"details"`
		Error       text            `json:"error"`
		Description text            `json:"error_description"`
	}
	if jsonObject(body, &e) != nil {
		return "", ""
	}
	msg = firstOf(e.Message.String(), e.Description.String(), e.Error.String())
	errorType = e.ErrorType.String()
	var details []map[string]json.RawMessage
	if errorType == "" && json.Unmarshal(e.Details, &details) == nil {
	search:
		for _, d := range details {
			for _, k := range []string{"errorType", "reason", "type"} {
				var t text
				if json.Unmarshal(d[k], &t) == nil && t.String() != "" {
					errorType = t.String()
					break search
				}
			}
		}
	}
	if errorType == "" {
		errorType = e.Status.String()
	}
	return msg, errorType
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
