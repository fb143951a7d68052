package carrier

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/faxgate/faxgate/internal/fax"
)

func TestDetails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		station, caller, duration, rate string
		want                            fax.Details
	}{
		{"0311223344", "0311223344", "24", "33600", fax.Details{StationID: "0311223344", CallerID: "0311223344", DurationSeconds: 24, BitRate: 33600}},
		{"  ACME\x00FAX ", "", "24.5", "14400 bps", fax.Details{StationID: "ACME FAX", DurationSeconds: 25, BitRate: 14400}},
		{"", "", "00:01:05", "9600baud", fax.Details{DurationSeconds: 65, BitRate: 9600}},
		{"", "", "1:05", "", fax.Details{DurationSeconds: 65}},
		{"", "", "12s", "", fax.Details{DurationSeconds: 12}},
		// Unreadable or absurd values are unknown, never an error.
		{"", "", "soon", "fast", fax.Details{}},
		{"", "", "-3", "-9600", fax.Details{}},
		{"", "", "1:75", "14400 furlongs", fax.Details{}},
		{"", "", "99999999", "99999999", fax.Details{}},
		{"", "", "NaN", "", fax.Details{}},
		{"", "", "1:2:3:4", "", fax.Details{}},
		{strings.Repeat("x", 100), "", "", "", fax.Details{StationID: strings.Repeat("x", MaxDetailLen)}},
	}
	for _, tt := range tests {
		if got := Details(tt.station, tt.caller, tt.duration, tt.rate); got != tt.want {
			t.Errorf("Details(%q, %q, %q, %q): got %+v, want %+v", tt.station, tt.caller, tt.duration, tt.rate, got, tt.want)
		}
	}
}

func TestBitRate(t *testing.T) {
	for raw, want := range map[string]int{`14400`: 14400, `"9600"`: 9600, `null`: 0, `""`: 0, `{}`: 0, `[1]`: 0, `1.5`: 0, `"x"`: 0, `12345678`: 0} {
		if got := BitRate([]byte(raw)); got != want {
			t.Errorf("BitRate(%s): got %d, want %d", raw, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { BitRate([]byte(`14400`)) }); n != 0 {
		t.Errorf("BitRate allocates %v times per call, want 0", n)
	}
}

func TestCallerID(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ given, from, want string }{
		{"+15551230000", "+15551230000", ""},
		{"anonymous", "", "anonymous"},
		{"+15551230000", "", "+15551230000"},
		{"+15551239999", "+15551230000", "+15551239999"},
	} {
		if got := CallerID(tt.given, tt.from); got != tt.want {
			t.Errorf("CallerID(%q, %q): got %q, want %q", tt.given, tt.from, got, tt.want)
		}
	}
}

// FuzzDetails: any carrier text gives bounded details, valid UTF-8 on one
// line, and never panics.
func FuzzDetails(f *testing.F) {
	f.Add("0311223344", "0311223344", "24", "33600")
	f.Add("ACME", "anonymous", "00:01:05", "14400 bps")
	f.Add("\xff\n", "", "1e308", "\"9600\"")
	f.Fuzz(func(t *testing.T, station, caller, duration, rate string) {
		d := Details(station, caller, duration, rate)
		for _, s := range []string{d.StationID, d.CallerID} {
			if len(s) > MaxDetailLen || !utf8.ValidString(s) || strings.ContainsAny(s, "\r\n") {
				t.Fatalf("text %q is not bounded, valid one-line UTF-8", s)
			}
		}
		if d.DurationSeconds < 0 || d.DurationSeconds > maxDuration || d.BitRate < 0 || d.BitRate > maxBitRate {
			t.Fatalf("out of bounds: %+v", d)
		}
		if n := BitRate([]byte(rate)); n < 0 || n > maxBitRate {
			t.Fatalf("BitRate(%q) = %d", rate, n)
		}
	})
}
