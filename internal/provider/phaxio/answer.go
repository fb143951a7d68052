package phaxio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// TagName is the Phaxio tag faxgate puts its fax id in (tag[faxgate_id]),
// so that Find can ask Phaxio for the fax after a crash mid-send.
const TagName = "faxgate_id"

// wireAnswer is the envelope of every Phaxio API answer.
type wireAnswer struct {
	Success   text            `json:"success"`
	Message   text            `json:"message"`
	ErrorType text            `json:"error_type"`
	Data      json.RawMessage `json:"data"`
}

// readAnswer decodes the envelope. ok reports success:true (or no success
// field at all, which relays in front of Phaxio send); success:false gives
// ok false with Phaxio's message. Anything but a JSON object with a
// readable success field is an error.
func readAnswer(body []byte) (a *wireAnswer, ok bool, err error) {
	a = &wireAnswer{}
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return nil, false, fmt.Errorf("the answer is not a JSON object")
	}
	if err := json.Unmarshal(body, a); err != nil {
		return nil, false, fmt.Errorf("the answer is not a readable JSON object")
	}
	switch strings.ToLower(a.Success.String()) {
	case "true", "1", "":
		return a, true, nil
	case "false", "0":
		return a, false, nil
	}
	return nil, false, fmt.Errorf("the answer's success field is neither true nor false")
}

// readSendAnswer reads Phaxio's answer to POST /faxes. It returns the fax
// id when Phaxio took the fax, or refusedMsg (possibly "") with refused set
// for success:false. Any other body is an error: whether Phaxio took the fax
// is then unknown.
func readSendAnswer(body []byte) (id string, refused bool, refusedMsg string, err error) {
	a, ok, err := readAnswer(body)
	if err != nil {
		return "", false, "", err
	}
	if !ok {
		return "", true, a.Message.String(), nil
	}
	var d struct {
		ID text `json:"id"`
	}
	if len(bytes.TrimSpace(a.Data)) == 0 || json.Unmarshal(a.Data, &d) != nil {
		return "", false, "", fmt.Errorf("the answer has no data object")
	}
	id = d.ID.String()
	if id == "" || !validID(id) {
		return "", false, "", fmt.Errorf("the answer has no valid fax id")
	}
	return id, false, "", nil
}

// readFindAnswer reads Phaxio's answer to GET /faxes?tag[faxgate_id]=faxID.
// An empty list means Phaxio has no such fax. A listed fax counts only if it
// carries the tag: a list of faxes without it means Phaxio ignored the
// filter, which proves nothing, so it is an error rather than "not found".
func readFindAnswer(body []byte, faxID string) (id string, found bool, err error) {
	a, ok, err := readAnswer(body)
	if err != nil {
		return "", false, err
	}
	if !ok {
		return "", false, fmt.Errorf("Phaxio refused the list: %q", carrier.Truncate(a.Message.String(), carrier.MaxUserMessage))
	}
	var list []json.RawMessage
	if len(bytes.TrimSpace(a.Data)) == 0 || json.Unmarshal(a.Data, &list) != nil {
		return "", false, fmt.Errorf("the answer has no data list")
	}
	for _, raw := range list {
		var item struct {
			ID   text            `json:"id"`
			Tags json.RawMessage `json:"tags"`
		}
		if json.Unmarshal(raw, &item) != nil {
			continue
		}
		// Tags are an object; an empty set may come as [] or null.
		var tags map[string]text
		if json.Unmarshal(item.Tags, &tags) != nil || tags[TagName].String() != faxID {
			continue
		}
		if id = item.ID.String(); id == "" || !validID(id) {
			return "", false, fmt.Errorf("the tagged fax has no valid id")
		}
		return id, true, nil
	}
	if len(list) > 0 {
		return "", false, fmt.Errorf("the answer lists %d faxes, none tagged %s=%s: the filter was not applied", len(list), TagName, faxID)
	}
	return "", false, nil
}

// readError reads the message and error type of a refusal, as far as the
// body is Phaxio's JSON envelope; otherwise both are "".
func readError(body []byte) (msg, errorType string) {
	a, _, err := readAnswer(body)
	if err != nil {
		return "", ""
	}
	errorType = a.ErrorType.String()
	if errorType == "" {
		var d struct {
			ErrorType text `json:"error_type"`
		}
		if json.Unmarshal(a.Data, &d) == nil {
			errorType = d.ErrorType.String()
		}
	}
	return a.Message.String(), errorType
}
