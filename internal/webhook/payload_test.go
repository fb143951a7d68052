package webhook

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/google/go-cmp/cmp"
)

func sentEvent() fax.Event {
	return fax.Event{
		ID:        "evt_01JDZ3X4P5Q6R7S8T9V0W1X2Y3",
		Type:      fax.EventFaxSent,
		FaxID:     "fax_01JDZ3W0000000000000000000",
		CreatedAt: time.Date(2026, 11, 2, 9, 30, 15, 123456789, time.FixedZone("CET", 3600)),
		Data:      json.RawMessage(`{"id":"fax_01JDZ3W0000000000000000000","status":"sent","to":"+14155550123","pages":3}`),
	}
}

func TestPayloadGolden(t *testing.T) {
	got, err := Payload(sentEvent(), "2026-11-01")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "payload_fax_sent.json", got)
}

func TestPayload(t *testing.T) {
	ev := sentEvent()
	got, err := Payload(ev, "2026-11-01")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"evt_01JDZ3X4P5Q6R7S8T9V0W1X2Y3","type":"fax.sent","created_at":"2026-11-02T08:30:15.123Z","api_version":"2026-11-01","data":` + string(ev.Data) + `}`
	if string(got) != want {
		t.Errorf("Payload:\ngot  %s\nwant %s", got, want)
	}
	again, _ := Payload(ev, "2026-11-01")
	if string(again) != string(got) {
		t.Errorf("Payload is not stable:\nfirst  %s\nsecond %s", got, again)
	}
}

func TestPayloadEdges(t *testing.T) {
	base := sentEvent()
	tests := []struct {
		name       string
		edit       func(*fax.Event)
		apiVersion string
		want       map[string]any
	}{
		{
			name: "empty data becomes an object",
			edit: func(e *fax.Event) { e.Data = nil },
			want: map[string]any{"data": map[string]any{}},
		},
		{
			name: "default api version",
			want: map[string]any{"api_version": fax.APIVersion},
		},
		{
			name:       "strings are escaped",
			edit:       func(e *fax.Event) { e.ID = "evt_\"\\\n\x01\u2028<&>é\xff" },
			apiVersion: "v\t1",
			want: map[string]any{
				"id":          "evt_\"\\\n\x01\u2028<&>é\uFFFD",
				"api_version": "v\t1",
			},
		},
		{
			name: "zero time",
			edit: func(e *fax.Event) { e.CreatedAt = time.Time{} },
			want: map[string]any{"created_at": "0001-01-01T00:00:00.000Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := base
			if tt.edit != nil {
				tt.edit(&ev)
			}
			b, err := Payload(ev, tt.apiVersion)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("Payload is not JSON: %v\n%s", err, b)
			}
			for k, want := range tt.want {
				if diff := cmp.Diff(want, got[k]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
		})
	}
}

func TestPayloadInvalid(t *testing.T) {
	for name, edit := range map[string]func(*fax.Event){
		"data not JSON": func(e *fax.Event) { e.Data = json.RawMessage(`{"a":`) },
		"no id":         func(e *fax.Event) { e.ID = "" },
		"no type":       func(e *fax.Event) { e.Type = "" },
	} {
		ev := sentEvent()
		edit(&ev)
		if _, err := Payload(ev, ""); fax.ErrorCode(err) != fax.ECodeInvalid {
			t.Errorf("%s: Payload error = %v, want code invalid", name, err)
		}
	}
}
