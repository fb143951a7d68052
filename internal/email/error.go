package email

import (
	"strconv"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
)

// Steps of sending a message, named in Error.Op.
const (
	OpMessage  = "message"   // building the message: bad address, bad input
	OpConnect  = "connect"   // dialling the relay and reading its greeting
	OpTLS      = "tls"       // implicit TLS or STARTTLS
	OpHello    = "ehlo"      // EHLO/HELO
	OpAuth     = "auth"      // AUTH
	OpMail     = "mail from" // MAIL FROM
	OpRcpt     = "rcpt to"   // RCPT TO
	OpData     = "data"      // DATA and the message itself
	maxErrText = 200
)

// Error is a failed Send. Its text names the step and what went wrong in
// words safe to show to the user who owns the mailto: endpoint: the relay's
// reply, never the relay's credentials or URL.
type Error struct {
	// Op is the step that failed (OpConnect, OpRcpt, …).
	Op string
	// Code is the relay's SMTP reply code, 0 when it did not answer one.
	Code int
	// Message describes the failure: the relay's reply text, or faxgate's.
	Message string
	// permanent is set when no later attempt can succeed.
	permanent bool
	err       error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("email: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.Code != 0 {
		b.WriteString(strconv.Itoa(e.Code))
		b.WriteByte(' ')
	}
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap returns the underlying error, for errors.Is (context deadlines,
// network errors); its text may hold the relay's address and is not shown to
// users.
func (e *Error) Unwrap() error { return e.err }

// Permanent reports whether retrying cannot help: the relay refused the
// message or a recipient with a 5xx reply (550 no such user), or the message
// could not be built (an invalid address). A 5xx to EHLO, STARTTLS, AUTH or
// MAIL FROM is not permanent: it is the operator's configuration (530 the
// relay wants AUTH, 550 it will not relay for the configured sender), and
// once they fix it the retries go through.
func (e *Error) Permanent() bool { return e.permanent }

// replyError wraps an SMTP reply. 5xx to RCPT or DATA is permanent.
func replyError(op string, code int, msg string, err error) *Error {
	perm := code >= 500 && code <= 599 && (op == OpRcpt || op == OpData)
	return &Error{Op: op, Code: code, Message: cleanText(msg), permanent: perm, err: err}
}

// cleanText makes a relay's reply safe to store and show: one line of valid
// UTF-8 without control characters, at most maxErrText bytes.
func cleanText(s string) string {
	s = fax.Words(s)
	if len(s) > maxErrText {
		s = fax.Truncate(s, maxErrText) + "…"
	}
	return s
}
