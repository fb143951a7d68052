package bench

import (
	"slices"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/webhook"
	"github.com/faxgate/faxgate/internal/wire"
)

// TestEventKeyFields reads what the receiver needs from real payloads.
func TestEventKeyFields(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	f := &fax.Fax{ID: "fax_01", Direction: fax.Outbound, Status: fax.StatusSending, To: "+15551230000", Provider: "phaxio",
		HeaderText: `"page":99 "type":"x"`, CreatedAt: now, UpdatedAt: now}
	for _, tc := range []struct {
		typ  fax.EventType
		page int
	}{{fax.EventFaxPageSent, 7}, {fax.EventFaxSent, 0}} {
		data, err := wire.MarshalEventData(f, tc.page, 0)
		if err != nil {
			t.Fatal(err)
		}
		body, err := webhook.Payload(fax.Event{ID: "evt_01", Type: tc.typ, FaxID: f.ID, CreatedAt: now, Data: data}, "")
		if err != nil {
			t.Fatal(err)
		}
		typ, id, page, ok := eventKeyFields(body)
		if !ok || typ != string(tc.typ) || id != f.ID || page != tc.page {
			t.Errorf("eventKeyFields(%s) = %q %q %d %v, want %s %s %d", body, typ, id, page, ok, tc.typ, f.ID, tc.page)
		}
	}
}

func TestSoakJudge(t *testing.T) {
	samples := func(rss ...float64) []SoakSample {
		var s []SoakSample
		for i, v := range rss {
			s = append(s, SoakSample{AtS: float64(i * 10), RSSMB: v})
		}
		return s
	}
	for _, tc := range []struct {
		name        string
		rss         []float64
		flat        bool
		early, late float64
	}{
		// 0..90 s over 100 s: warm-up below 10 s, earlier half to 55 s.
		{"flat past a warm-up", []float64{90, 40, 41, 40, 42, 41, 42, 41, 43, 42}, true, 42, 43},
		{"growing", []float64{20, 40, 40, 41, 42, 43, 45, 47, 49, 52}, false, 43, 52},
		{"shrinking", []float64{20, 60, 60, 50, 50, 50, 45, 45, 45, 45}, true, 60, 45},
	} {
		r := SoakResults{Samples: samples(tc.rss...)}
		r.judge(100 * time.Second)
		if r.Flat != tc.flat || r.EarlyPeak != tc.early || r.LatePeak != tc.late {
			t.Errorf("%s: flat %v (early %v late %v growth %v), want %v (%v, %v)", tc.name, r.Flat, r.EarlyPeak, r.LatePeak, r.Growth, tc.flat, tc.early, tc.late)
		}
	}
}

func TestChildEnv(t *testing.T) {
	env := childEnv([]string{"PATH=/bin", "HOME=/root", "FAXGATE_ADDR=:1", "PHAXIO_API_KEY=users", "SINCH_PROJECT_ID=p", "FAXGATE_UNKNOWN=x"},
		map[string]string{"FAXGATE_ADDR": "127.0.0.1:9", "PHAXIO_API_KEY": "bench", "FAXGATE_DATABASE_URL": ""})
	slices.Sort(env)
	want := []string{"FAXGATE_ADDR=127.0.0.1:9", "HOME=/root", "PATH=/bin", "PHAXIO_API_KEY=bench"}
	if !slices.Equal(env, want) {
		t.Errorf("childEnv = %q, want %q", env, want)
	}
}

// TestBenchE2EVerdict checks the end-to-end budget's verdict: the sustained
// rate itself must reach 5000/s, as offered, with the p99 bound kept.
func TestBenchE2EVerdict(t *testing.T) {
	for _, c := range []struct {
		name          string
		offered, rate float64
		p99           float64
		errors        int64
		want          bool
	}{
		{"keeps up above the budget", 5244, 5246, 17, 0, true},
		{"keeps up just below the budget", 4992, 4994, 17, 0, false},
		{"falls behind what is offered", 5244, 5050, 17, 0, false},
		{"over the latency bound", 5244, 5246, 51, 0, false},
		{"a webhook missing", 5244, 5246, 17, 1, false},
	} {
		r := &Results{}
		r.EndToEnd = Figure{Name: "end to end", Offered: c.offered, Rate: c.rate, P99MS: c.p99, Errors: c.errors}
		r.finish()
		if got := *r.EndToEnd.Pass; got != c.want {
			t.Errorf("%s: pass = %v, want %v", c.name, got, c.want)
		}
	}
}
