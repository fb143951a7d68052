package asterisk

import (
	"context"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/asterisk/amitest"
	"github.com/google/go-cmp/cmp"
)

// TestCheck: `faxgate carriers check` logs in to AMI once and logs off;
// refused credentials fail naming the settings, never the secret; a
// receiving-only setup has nothing to log in to and passes saying so.
func TestCheck(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	cfg := senderConfig(t, fake, newRecorder())
	got, err := mustNew(t, cfg).Check(context.Background())
	if err != nil || !strings.Contains(got, "AMI login accepted") {
		t.Errorf("good login: got %q %v", got, err)
	}
	if n := fake.Logins(); n != 1 {
		t.Errorf("AMI logins: got %d, want 1", n)
	}
	waitFor(t, "the Logoff action", func() bool { return len(fake.Received("Logoff")) == 1 })
	bad := cfg
	bad.AMISecret = "not-the-ami-secret"
	_, err = mustNew(t, bad).Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ASTERISK_AMI_SECRET") || strings.Contains(err.Error(), "not-the-ami-secret") {
		t.Errorf("bad secret: got %v, want a refusal naming the settings without the secret", err)
	}
	recvOnly := Config{SpoolDir: t.TempDir(), InboundSecrets: []string{"s"}}
	if got, err := mustNew(t, recvOnly).Check(context.Background()); err != nil || !strings.Contains(got, "receiving only") {
		t.Errorf("receiving only: got %q %v", got, err)
	}
}

// TestFaxResultDetails: the dialplan's FaxResult may add RemoteStationID
// and Bitrate; they become the sent fax's details.
func TestFaxResultDetails(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	fake.SetOriginate(func(c *amitest.Conn, a amitest.Action) {
		amitest.Queued(c, a)
		amitest.OriginateResponse(c, a, "Success", "4", uidA)
		c.Send("Event", "UserEvent", "UserEvent", "FaxResult", "Uniqueid", uidA, "Job", a.Variable("FAXGATE_JOB"),
			"Status", "SUCCESS", "Error", "OK", "Pages", "2", "RemoteStationID", "LAB FAX 2", "Bitrate", "14400")
	})
	rec := newRecorder()
	p := newSender(t, senderConfig(t, fake, rec))
	mustSend(t, p, outboundJob(jobA, "+15559870000"), faxTIFF(2, 1728, 64, compressionG4))
	rec.next(t)
	got := rec.next(t)
	want := fax.Details{StationID: "LAB FAX 2", BitRate: 14400}
	if diff := cmp.Diff(want, got.Details); diff != "" || got.Status != fax.StatusSent {
		t.Errorf("FaxResult update %+v: details (-want +got):\n%s", got, diff)
	}
}
