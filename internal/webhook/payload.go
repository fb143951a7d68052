package webhook

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/faxgate/faxgate/internal/fax"
)

// createdAtLayout is RFC 3339 in UTC with milliseconds, the precision every
// timestamp in the public API has.
const createdAtLayout = "2006-01-02T15:04:05.000Z"

// Payload renders ev as the body of the default ("json") format:
//
//	{"id":"evt_…","type":"fax.sent","created_at":"…","api_version":"…","data":{…}}
//
// The fields come in that order and the bytes depend only on ev and
// apiVersion, so a retry sends exactly what the first attempt sent and a
// receiver that stored the raw body can compare. Data is copied as it is,
// frozen when the event happened; empty Data becomes {}. An empty apiVersion
// means fax.APIVersion. Data that is not valid JSON is an *fax.Error with code
// invalid: no retry can fix it.
func Payload(ev fax.Event, apiVersion string) ([]byte, error) {
	if ev.ID == "" || ev.Type == "" {
		return nil, fax.Errorf(fax.ECodeInvalid, "event has no id or type")
	}
	data := []byte(ev.Data)
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	} else if !json.Valid(data) {
		return nil, fax.Errorf(fax.ECodeInvalid, "event %s data is not valid JSON", ev.ID)
	}
	if apiVersion == "" {
		apiVersion = fax.APIVersion
	}
	var b bytes.Buffer
	b.Grow(96 + len(ev.ID) + len(ev.Type) + len(apiVersion) + len(data))
	b.WriteString(`{"id":`)
	writeJSONString(&b, ev.ID)
	b.WriteString(`,"type":`)
	writeJSONString(&b, string(ev.Type))
	b.WriteString(`,"created_at":"`)
	b.Write(ev.CreatedAt.UTC().AppendFormat(b.AvailableBuffer(), createdAtLayout))
	b.WriteString(`","api_version":`)
	writeJSONString(&b, apiVersion)
	b.WriteString(`,"data":`)
	b.Write(data)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeJSONString writes s as a JSON string. Unlike encoding/json it leaves
// <, > and & alone (nothing here is embedded in HTML); like it, it escapes
// control characters and turns invalid UTF-8 into U+FFFD so the output is
// always valid JSON.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\ufffd`)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript source before ES2019.
			b.WriteString(`\u202`)
			b.WriteByte(hex[r&0xf])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}
