package webhook

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

// aboutFax reports whether events of type t carry a fax object as their data
// (wire.EventData). SMS events are taken to carry the same shape: id, to,
// status and error are what the formats read from them.
func aboutFax(t fax.EventType) bool {
	return strings.HasPrefix(string(t), "fax.") || strings.HasPrefix(string(t), "sms.")
}

// faxData reads the fax object of an event about a fax. Empty data is an
// empty object; data that is not the fax shape is an *fax.Error with code
// invalid, which no retry can fix. A missing id is the event's fax id.
func faxData(ev fax.Event) (wire.EventData, error) {
	var d wire.EventData
	if data := bytes.TrimSpace(ev.Data); len(data) > 0 {
		if err := json.Unmarshal(data, &d); err != nil {
			return d, fax.Errorf(fax.ECodeInvalid, "event %s data is not a fax object", ev.ID)
		}
	}
	if d.ID == "" {
		d.ID = ev.FaxID
	}
	return d, nil
}

// scalarFields returns the top-level fields of an event's data whose values
// are strings, numbers or booleans, sorted by name, as text: the generic
// rendering of events that are not about a fax (webhook.test,
// webhook.endpoint_disabled).
func scalarFields(ev fax.Event) ([][2]string, error) {
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fax.Errorf(fax.ECodeInvalid, "event %s data is not a JSON object", ev.ID)
	}
	var out [][2]string
	for k, raw := range m {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			continue
		}
		switch v := v.(type) {
		case string:
			out = append(out, [2]string{k, v})
		case float64:
			out = append(out, [2]string{k, strconv.FormatFloat(v, 'f', -1, 64)})
		case bool:
			out = append(out, [2]string{k, strconv.FormatBool(v)})
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out, nil
}

// inbound reports whether d is a received fax: by its direction, or by the
// event type when an old event has none.
func inbound(d *wire.EventData, t fax.EventType) bool {
	if d.Direction != "" {
		return d.Direction == string(fax.Inbound)
	}
	return t == fax.EventFaxReceived
}

// withoutPlus is an E.164 number as GoFax writes it, digits only.
func withoutPlus(n string) string { return strings.TrimPrefix(n, "+") }

// phaxioTimeLayout is how Phaxio writes times: RFC 3339 with milliseconds and
// a numeric offset (never Z).
const phaxioTimeLayout = "2006-01-02T15:04:05.000-07:00"

// phaxioTime rewrites an API timestamp in Phaxio's layout, in UTC. Text that
// is not RFC 3339 is kept as it is; empty is null.
func phaxioTime(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return s
	}
	out := t.UTC().Format(phaxioTimeLayout)
	return &out
}
