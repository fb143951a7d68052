package workflow

import (
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
)

// What records keep of free text from outside: a receiver's answer, a
// fetch error, an audit detail. Bounded, so that one huge or binary answer
// never bloats the log, and valid UTF-8, so that the API can show it.
const (
	MaxResponseBody = 1024 // an attempt's response body
	MaxErrorText    = 512  // an attempt's or a fetch job's error
	MaxAuditDetail  = 1024 // an audit entry's detail
)

// Clip cuts s to at most n bytes of valid UTF-8, never inside a character;
// invalid bytes become U+FFFD. Unlike fax.OneLine it keeps line breaks: a
// receiver's answer is shown as it came.
func Clip(s string, n int) string {
	return fax.Truncate(strings.ToValidUTF8(s, "\uFFFD"), n)
}
