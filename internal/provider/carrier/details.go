package carrier

import (
	"strconv"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
)

// Bounds on what a carrier says about a call. A T.30 station id is at most
// 20 characters; the room beyond that is for carriers that pad or prefix.
const (
	MaxDetailLen = 64
	maxDuration  = 24 * 60 * 60 // a day: no fax call is longer
	maxBitRate   = 1_000_000    // V.34 tops out at 33600; this is far past any
)

// Details reads what a carrier said about a call from its text fields,
// tolerantly: a value that cannot be read is left unknown, never refusing
// the fax it came with, since the status and the document matter more than
// the line speed. duration is seconds ("24", "24.4") or a clock
// ("0:24", "00:00:24"); bitRate is bits per second, with or without a unit
// ("14400", "14400 bps").
func Details(stationID, callerID, duration, bitRate string) fax.Details {
	return fax.Details{
		StationID:       Clip(stationID, MaxDetailLen),
		CallerID:        Clip(callerID, MaxDetailLen),
		DurationSeconds: seconds(strings.TrimSpace(duration)),
		BitRate:         bitsPerSecond(strings.TrimSpace(bitRate)),
	}
}

// CallerID is the caller id a carrier gave, unless it is the number from
// (the fax's From, already normalised) written some way: a caller id is
// kept for what From cannot show, such as "anonymous", a name or a number
// faxgate could not read.
func CallerID(given, from string) string {
	if from != "" {
		if n, err := fax.ParseLooseNumber(given); err == nil && string(n) == from {
			return ""
		}
	}
	return given
}

// seconds reads a duration as whole seconds (rounded), 0 when unreadable.
func seconds(s string) int {
	if s == "" || len(s) > 20 {
		return 0
	}
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) > 3 {
			return 0
		}
		total := 0
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || (i > 0 && n >= 60) {
				return 0
			}
			total = total*60 + n
			if total > maxDuration {
				return 0
			}
		}
		return total
	}
	s = strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(strings.ToLower(s), "s")), "sec")
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(f >= 0) || f > maxDuration {
		return 0
	}
	return int(f + 0.5)
}

// BitRate reads a speed given as JSON: a number, a string holding one, or
// null; 0 when it is none of these or out of bounds. It does not allocate:
// Phaxio repeats the speed on every callback of a sent fax.
func BitRate(raw []byte) int {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	return bitsPerSecond(raw)
}

// bitsPerSecond reads a speed: leading digits, then an optional unit.
func bitsPerSecond[T string | []byte](s T) int {
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == 0 || end > 7 {
		return 0
	}
	if end < len(s) {
		switch strings.ToLower(strings.TrimSpace(string(s[end:]))) {
		case "", "bps", "bit/s", "b/s", "baud":
		default:
			return 0
		}
	}
	n := 0
	for i := range end {
		n = n*10 + int(s[i]-'0')
	}
	if n > maxBitRate {
		return 0
	}
	return n
}
