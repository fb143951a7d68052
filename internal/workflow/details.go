package workflow

import "github.com/faxgate/faxgate/internal/fax"

// MergeDetails keeps what carriers told about a fax's call: each value src
// reports replaces dst's, and a value src leaves empty never erases a known
// one, since a carrier's later callback often repeats less than its first
// (a final status without the station id an earlier one gave). It reports
// whether dst changed.
func MergeDetails(dst *fax.Details, src fax.Details) bool {
	before := *dst
	if src.StationID != "" {
		dst.StationID = src.StationID
	}
	if src.CallerID != "" {
		dst.CallerID = src.CallerID
	}
	if src.DurationSeconds > 0 {
		dst.DurationSeconds = src.DurationSeconds
	}
	if src.BitRate > 0 {
		dst.BitRate = src.BitRate
	}
	return *dst != before
}
