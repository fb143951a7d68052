package email

import (
	"errors"
	"testing"

	"github.com/faxgate/faxgate/internal/email/smtptest"
)

// TestMailFromRefusalIsRetried: a relay that wants AUTH (530) or refuses
// the configured sender at MAIL FROM is the operator's configuration, like
// a 5xx to EHLO or AUTH: once fixed, the retries go through, so the failure
// is not permanent.
func TestMailFromRefusalIsRetried(t *testing.T) {
	t.Parallel()
	// The relay requires AUTH and the URL has no credentials: 530 to MAIL.
	srv := smtptest.NewServer(t, smtptest.Options{AuthWithoutTLS: true, Users: map[string]string{"u": "hunter2-pw"}})
	s := mustSender(t, srv.URL("smtp", "", "", ""), nil)
	err := s.Send(t.Context(), []string{"ops@example.com"}, "s", "t", "", nil)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Send = %v, want an *Error", err)
	}
	if e.Op != OpMail || e.Code != 530 || e.Permanent() {
		t.Errorf("Send = %v (op %q, code %d, permanent %v), want a retryable 530 at %q", err, e.Op, e.Code, e.Permanent(), OpMail)
	}
}
