package carrier

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
)

// Text is a JSON scalar kept as its text: carriers and the relays in front
// of them send ids and counts as numbers or as strings, and null for absent.
type Text string

// UnmarshalJSON accepts a string, number, boolean or null.
func (t *Text) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0 || string(b) == "null":
		*t = ""
	case b[0] == '"' && bytes.IndexByte(b, '\\') < 0:
		// The decoder has validated the literal; without escapes its text
		// is what lies between the quotes.
		*t = Text(b[1 : len(b)-1])
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text(s)
	case b[0] == '{' || b[0] == '[':
		return &json.UnmarshalTypeError{Value: "object", Type: reflect.TypeFor[string]()}
	default:
		*t = Text(b)
	}
	return nil
}

// String returns t trimmed, with invalid UTF-8 replaced: the values end up
// in the store and in users' webhooks.
func (t Text) String() string { return strings.TrimSpace(strings.ToValidUTF8(string(t), "\uFFFD")) }

// JSONError turns a decoding error of the value at field into a user-safe
// *fax.Error ("" is the whole body).
func JSONError(field string, err error) error {
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

// DecodeBase64 decodes standard or URL-safe base64, padded or not; line
// breaks are ignored.
func DecodeBase64(b []byte) ([]byte, error) {
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
