package workflow

import (
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

func TestMergeDetails(t *testing.T) {
	t.Parallel()
	known := fax.Details{StationID: "ACME", CallerID: "anonymous", DurationSeconds: 24, BitRate: 14400}
	tests := []struct {
		name     string
		dst, src fax.Details
		want     fax.Details
		changed  bool
	}{
		{"empty never erases", known, fax.Details{}, known, false},
		{"fills what was unknown", fax.Details{StationID: "ACME"}, fax.Details{BitRate: 9600}, fax.Details{StationID: "ACME", BitRate: 9600}, true},
		{"newer replaces", known, fax.Details{StationID: "OTHER"}, fax.Details{StationID: "OTHER", CallerID: "anonymous", DurationSeconds: 24, BitRate: 14400}, true},
		{"same is no change", known, known, known, false},
	}
	for _, tt := range tests {
		dst := tt.dst
		if changed := MergeDetails(&dst, tt.src); dst != tt.want || changed != tt.changed {
			t.Errorf("%s: got %+v changed=%v, want %+v changed=%v", tt.name, dst, changed, tt.want, tt.changed)
		}
	}
}
