package asterisk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/asterisk/amitest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	jobA = "fax_01JD3Q7M2K8V5T9R4X6Y0Z1ABC"
	jobB = "fax_01JD3Q7M2K8V5T9R4X6Y0Z2DEF"
	uidA = "1700000000.42"
)

// ignoreTime leaves OccurredAt out of comparisons.
func ignoreTime() cmp.Option { return cmpopts.IgnoreFields(fax.Update{}, "OccurredAt") }

func mustSend(t *testing.T, p *Provider, job *fax.DispatchJob, doc []byte) {
	t.Helper()
	id, err := p.Send(context.Background(), job, doc)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if id != "" {
		t.Errorf("got provider id %q, want none until the call is answered", id)
	}
}

func TestSendSuccess(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	fake.SetOriginate(func(c *amitest.Conn, a amitest.Action) {
		amitest.Queued(c, a)
		amitest.OriginateResponse(c, a, "Success", "4", uidA)
		amitest.FaxResult(c, a.Variable("FAXGATE_JOB"), "SUCCESS", "OK", "2", uidA)
	})
	rec := newRecorder()
	cfg := senderConfig(t, fake, rec)
	p := newSender(t, cfg)
	mustSend(t, p, outboundJob(jobA, "+15559870000"), faxTIFF(2, 1728, 64, compressionG4))

	want := []fax.Update{
		{Provider: Name, Kind: fax.UpdateStatus, EventKey: "asterisk:" + jobA + ":originate", FaxID: jobA, ProviderFaxID: uidA, Status: fax.StatusSending},
		{Provider: Name, Kind: fax.UpdateStatus, EventKey: "asterisk:" + jobA + ":faxresult", FaxID: jobA, ProviderFaxID: uidA, Status: fax.StatusSent, Pages: 2},
	}
	got := []fax.Update{rec.next(t), rec.next(t)}
	if diff := cmp.Diff(want, got, ignoreTime()); diff != "" {
		t.Errorf("updates (-want +got):\n%s", diff)
	}
	waitFor(t, "the job to end", func() bool { return p.tracker.pending() == 0 })
	if _, err := os.Stat(filepath.Join(cfg.SpoolDir, jobA+".tif")); !os.IsNotExist(err) {
		t.Errorf("spooled TIFF still there after the final result (stat: %v)", err)
	}

	// The Originate as Asterisk received it.
	orig := fake.Received("Originate")
	if len(orig) != 1 {
		t.Fatalf("got %d Originate actions, want 1", len(orig))
	}
	checkGoldenText(t, "testdata/ami/originate.golden.txt", strings.ReplaceAll(orig[0].Raw, cfg.SpoolDir, spoolMark))
}

func TestSendFailures(t *testing.T) {
	tests := []struct {
		name   string
		script func(c *amitest.Conn, a amitest.Action)
		want   []fax.Update
	}{
		{
			name: "busy",
			script: func(c *amitest.Conn, a amitest.Action) {
				amitest.Queued(c, a)
				amitest.OriginateResponse(c, a, "Failure", "5", "<null>")
			},
			want: []fax.Update{{Provider: Name, Kind: fax.UpdateStatus, EventKey: "asterisk:" + jobA + ":originate", FaxID: jobA,
				Status: fax.StatusFailed, Failure: &fax.Failure{Code: fax.FailBusy, Message: "The receiving line was busy.",
					CarrierType: "OriginateResponse", CarrierCode: "5", CarrierMessage: "Failure (busy)"}}},
		},
		{
			name: "no answer",
			script: func(c *amitest.Conn, a amitest.Action) {
				amitest.Queued(c, a)
				amitest.OriginateResponse(c, a, "Failure", "3", "")
			},
			want: []fax.Update{{Provider: Name, Kind: fax.UpdateStatus, EventKey: "asterisk:" + jobA + ":originate", FaxID: jobA,
				Status: fax.StatusFailed, Failure: &fax.Failure{Code: fax.FailNoAnswer, Message: "The receiving number did not answer.",
					CarrierType: "OriginateResponse", CarrierCode: "3", CarrierMessage: "Failure (no answer)"}}},
		},
		{
			name: "congestion",
			script: func(c *amitest.Conn, a amitest.Action) {
				amitest.Queued(c, a)
				amitest.OriginateResponse(c, a, "Failure", "8", "")
			},
			want: []fax.Update{{Provider: Name, Kind: fax.UpdateStatus, EventKey: "asterisk:" + jobA + ":originate", FaxID: jobA,
				Status: fax.StatusFailed, Failure: &fax.Failure{Code: fax.FailCongestion, Message: "The telephone network was congested.",
					CarrierType: "OriginateResponse", CarrierCode: "8", CarrierMessage: "Failure (congestion)"}}},
		},
		{
			name: "channel failure",
			script: func(c *amitest.Conn, a amitest.Action) {
				amitest.Queued(c, a)
				amitest.OriginateResponse(c, a, "Failure", "0", "")
			},
			want: []fax.Update{{Provider: Name, Kind: fax.UpdateStatus, EventKey: "asterisk:" + jobA + ":originate", FaxID: jobA,
				Status: fax.StatusFailed, Failure: &fax.Failure{Code: fax.FailLine, Message: "The call could not be placed.",
					CarrierType: "OriginateResponse", CarrierCode: "0", CarrierMessage: "Failure (failure)"}}},
		},
		{
			name: "fax failure",
			script: func(c *amitest.Conn, a amitest.Action) {
				amitest.Queued(c, a)
				amitest.OriginateResponse(c, a, "Success", "4", uidA)
				amitest.FaxResult(c, jobA, "FAILED", "The call dropped prematurely", "1", uidA)
			},
			want: []fax.Update{
				{Provider: Name, Kind: fax.UpdateStatus, EventKey: "asterisk:" + jobA + ":originate", FaxID: jobA, ProviderFaxID: uidA, Status: fax.StatusSending},
				{Provider: Name, Kind: fax.UpdateStatus, EventKey: "asterisk:" + jobA + ":faxresult", FaxID: jobA, ProviderFaxID: uidA,
					Status: fax.StatusFailed, Pages: 1, Failure: &fax.Failure{Code: fax.FailFax, Message: "The call was answered, but the fax transfer failed.",
						CarrierType: "FaxResult", CarrierCode: "FAILED", CarrierMessage: "The call dropped prematurely"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := amitest.NewServer(t, nil)
			fake.SetOriginate(tt.script)
			rec := newRecorder()
			cfg := senderConfig(t, fake, rec)
			cfg.FaxTimeout = 300 * time.Millisecond
			p := newSender(t, cfg)
			mustSend(t, p, outboundJob(jobA, "+15559870001"), faxTIFF(1, 1728, 64, compressionG4))
			var got []fax.Update
			for range tt.want {
				got = append(got, rec.next(t))
			}
			if diff := cmp.Diff(tt.want, got, ignoreTime()); diff != "" {
				t.Errorf("updates (-want +got):\n%s", diff)
			}
			// The job ended: no timeout follows, and nothing is pending.
			rec.none(t, 600*time.Millisecond)
			if n := p.tracker.pending(); n != 0 {
				t.Errorf("got %d pending jobs, want 0", n)
			}
			if _, err := os.Stat(filepath.Join(cfg.SpoolDir, jobA+".tif")); !os.IsNotExist(err) {
				t.Errorf("spooled TIFF still there (stat: %v)", err)
			}
		})
	}
}

func TestSendTimeout(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	fake.SetOriginate(func(c *amitest.Conn, a amitest.Action) {
		amitest.Queued(c, a)
		amitest.OriginateResponse(c, a, "Success", "4", uidA)
		// …and the dialplan never reports.
	})
	rec := newRecorder()
	cfg := senderConfig(t, fake, rec)
	cfg.FaxTimeout = 200 * time.Millisecond
	p := newSender(t, cfg)
	mustSend(t, p, outboundJob(jobA, "+15559870000"), faxTIFF(1, 1728, 64, compressionG4))
	if u := rec.next(t); u.Status != fax.StatusSending {
		t.Fatalf("got %+v, want sending first", u)
	}
	u := rec.next(t)
	want := fax.Update{Provider: Name, Kind: fax.UpdateStatus, EventKey: "asterisk:" + jobA + ":timeout", FaxID: jobA, ProviderFaxID: uidA,
		Status: fax.StatusFailed, Failure: &fax.Failure{Code: fax.FailTimeout, Message: "Asterisk reported no result for the fax in time.",
			CarrierType: "faxgate", CarrierMessage: "no final result within 200ms"}}
	if diff := cmp.Diff(want, u, ignoreTime()); diff != "" {
		t.Errorf("timeout update (-want +got):\n%s", diff)
	}
	// The call Asterisk still had is hung up.
	waitFor(t, "a Hangup", func() bool { return len(fake.Received("Hangup")) == 1 })
	if ch := fake.Received("Hangup")[0].Get("Channel"); ch != "PJSIP/faxtrunk-0000002a" {
		t.Errorf("got Hangup of %q, want the fax's channel", ch)
	}
	if n := p.tracker.pending(); n != 0 {
		t.Errorf("got %d pending jobs, want 0", n)
	}
}

func TestSendLoginRejected(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	fake.RejectLogin(true)
	rec := newRecorder()
	p := newSender(t, senderConfig(t, fake, rec))
	_, err := p.Send(context.Background(), outboundJob(jobA, "+15559870000"), faxTIFF(1, 1728, 64, compressionG4))
	se := fax.AsSendError(err)
	if err == nil || se.Outcome != fax.SendRetryable {
		t.Fatalf("got %v, want a retryable error", err)
	}
	var le *loginError
	if !errors.As(err, &le) {
		t.Errorf("got %v, want it to wrap the login refusal", err)
	}
	for _, want := range []string{"Authentication failed", amiUser, "ASTERISK_AMI_SECRET"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got error %q, want it to mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), amiSecret) {
		t.Errorf("error %q holds the AMI secret", err)
	}
	if n := len(fake.Received("Originate")); n != 0 {
		t.Errorf("got %d Originate actions, want none", n)
	}
}

func TestSendNothingListening(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	rec := newRecorder()
	cfg := senderConfig(t, fake, rec)
	fake.Close()
	p := newSender(t, cfg)
	_, err := p.Send(context.Background(), outboundJob(jobA, "+15559870000"), faxTIFF(1, 1728, 64, compressionG4))
	if se := fax.AsSendError(err); err == nil || se.Outcome != fax.SendRetryable {
		t.Fatalf("got %v, want a retryable error", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("got %q, want it to say the connection was refused", err)
	}
}

func TestSendReconnects(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	fake.SetOriginate(func(c *amitest.Conn, a amitest.Action) {
		amitest.Queued(c, a)
		amitest.OriginateResponse(c, a, "Failure", "5", "")
	})
	rec := newRecorder()
	p := newSender(t, senderConfig(t, fake, rec))
	mustSend(t, p, outboundJob(jobA, "+15559870000"), faxTIFF(1, 1728, 64, compressionG4))
	rec.next(t)

	fake.DropAll()
	waitFor(t, "a second login", func() bool { return fake.Logins() >= 2 })
	mustSend(t, p, outboundJob(jobB, "+15559870000"), faxTIFF(1, 1728, 64, compressionG4))
	if u := rec.next(t); u.FaxID != jobB || u.Status != fax.StatusFailed {
		t.Errorf("got %+v, want job B failed busy after the reconnect", u)
	}
}

func TestSendDropDuringOriginate(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	fake.SetOriginate(func(c *amitest.Conn, a amitest.Action) { c.Close() })
	rec := newRecorder()
	p := newSender(t, senderConfig(t, fake, rec))
	_, err := p.Send(context.Background(), outboundJob(jobA, "+15559870000"), faxTIFF(1, 1728, 64, compressionG4))
	if se := fax.AsSendError(err); err == nil || se.Outcome != fax.SendAmbiguous {
		t.Fatalf("got %v, want an ambiguous error: the call may be queued", err)
	}
	// Asked after the fact, the provider says it has the fax.
	if _, found, err := p.Find(context.Background(), outboundJob(jobA, "").Fax); err != nil || !found {
		t.Errorf("Find: got found %v, %v; want found", found, err)
	}
	if _, found, _ := p.Find(context.Background(), outboundJob(jobB, "").Fax); found {
		t.Errorf("Find of an unknown fax: got found, want not found")
	}
}

func TestSendOriginateError(t *testing.T) {
	tests := []struct {
		message string
		want    fax.SendOutcome
	}{
		{"Originate failed", fax.SendRetryable},
		{"Invalid channel", fax.SendPermanent},
		{"Permission denied", fax.SendPermanent},
		{"Channel not specified", fax.SendPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.message, func(t *testing.T) {
			fake := amitest.NewServer(t, nil)
			fake.SetOriginate(func(c *amitest.Conn, a amitest.Action) {
				c.Send("Response", "Error", "ActionID", a.Get("ActionID"), "Message", tt.message)
			})
			rec := newRecorder()
			cfg := senderConfig(t, fake, rec)
			p := newSender(t, cfg)
			_, err := p.Send(context.Background(), outboundJob(jobA, "+15559870000"), faxTIFF(1, 1728, 64, compressionG4))
			se := fax.AsSendError(err)
			if err == nil || se.Outcome != tt.want {
				t.Fatalf("got %v, want outcome %v", err, tt.want)
			}
			if tt.want == fax.SendPermanent && (se.Failure == nil || se.Failure.CarrierMessage != tt.message) {
				t.Errorf("got Failure %+v, want Asterisk's message kept", se.Failure)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("got %q, want Asterisk's message in it", err)
			}
			if p.tracker.pending() != 0 {
				t.Errorf("a refused fax is still tracked")
			}
			if _, err := os.Stat(filepath.Join(cfg.SpoolDir, jobA+".tif")); !os.IsNotExist(err) {
				t.Errorf("spooled TIFF of a refused fax still there (stat: %v)", err)
			}
		})
	}
}

// TestSendHeaderInjection sends header text built to break out of the AMI
// message and of the Variable header: it must stay one value.
func TestSendHeaderInjection(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	rec := newRecorder()
	cfg := senderConfig(t, fake, rec)
	p := newSender(t, cfg)
	job := outboundJob(jobA, "+15559870000")
	job.Fax.HeaderText = "x\r\nAction: Command\r\n\r\n,FAXFILE=/etc/passwd"
	mustSend(t, p, job, faxTIFF(1, 1728, 64, compressionG4))
	if n := len(fake.Received("Command")); n != 0 {
		t.Fatalf("header text injected %d actions", n)
	}
	a := fake.Received("Originate")[0]
	if got, want := a.Variable("FAXFILE"), filepath.Join(cfg.SpoolDir, jobA+".tif"); got != want {
		t.Errorf("got FAXFILE %q, want %q", got, want)
	}
	if got := a.Variable("FAXGATE_HEADER"); strings.ContainsAny(got, "\r\n") || !strings.Contains(got, `\,FAXFILE`) {
		t.Errorf("got FAXGATE_HEADER %q, want one line with its comma escaped", got)
	}
	if n := len(a.Header.Values("Variable")); n != 4 {
		t.Errorf("got %d Variable headers, want 4", n)
	}
}

// TestUnknownJobEvents is a restart: the provider knows nothing of the
// fax, yet its result is applied, matched by the fax id.
func TestUnknownJobEvents(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	rec := newRecorder()
	p := newSender(t, senderConfig(t, fake, rec))
	p.Start()
	waitFor(t, "the login", func() bool { return fake.Logins() == 1 })
	waitFor(t, "the session", func() bool { return p.ami.current() != nil })
	c := fake.Conns()[0]
	// Events faxgate ignores, and one of another AMI client's originates.
	c.Send("Event", "Newchannel", "Privilege", "call,all", "Channel", "PJSIP/x-1", "Uniqueid", "1.1")
	c.Send("Event", "OriginateResponse", "ActionID", "crm-42", "Response", "Failure", "Reason", "5")
	c.Send("Event", "UserEvent", "UserEvent", "SomethingElse", "Job", jobB)
	amitest.FaxResult(c, jobB, "SUCCESS", "", "3", "1700000100.7")
	want := fax.Update{Provider: Name, Kind: fax.UpdateStatus, EventKey: "asterisk:" + jobB + ":faxresult", FaxID: jobB,
		ProviderFaxID: "1700000100.7", Status: fax.StatusSent, Pages: 3}
	if diff := cmp.Diff(want, rec.next(t), ignoreTime()); diff != "" {
		t.Errorf("update (-want +got):\n%s", diff)
	}
	rec.none(t, 100*time.Millisecond)
}

func TestKeepalive(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	rec := newRecorder()
	cfg := senderConfig(t, fake, rec)
	cfg.PingInterval = 30 * time.Millisecond
	cfg.ActionTimeout = 200 * time.Millisecond
	p := newSender(t, cfg)
	p.Start()
	waitFor(t, "pings", func() bool { return fake.Pings() >= 2 })
	if n := fake.Logins(); n != 1 {
		t.Fatalf("got %d logins while pings were answered, want 1", n)
	}
	// A manager that stops answering is dropped and dialled again.
	fake.IgnorePing(true)
	waitFor(t, "a new login after unanswered pings", func() bool { return fake.Logins() >= 2 })
}

func TestSendProblem(t *testing.T) {
	spool := t.TempDir()
	rec := newRecorder()
	full := Config{SpoolDir: spool, AMIHost: "pbx.internal", AMIUser: amiUser, AMISecret: amiSecret, Apply: rec.apply, GhostscriptPath: gsOrStandIn()}
	tests := []struct {
		name string
		edit func(*Config)
		want []string // in the problem; none: no problem
	}{
		{"ready", func(*Config) {}, nil},
		{"no ami", func(c *Config) { c.AMIHost, c.AMIUser, c.AMISecret = "", "", "" },
			[]string{"ASTERISK_AMI_HOST", "ASTERISK_AMI_USER", "ASTERISK_AMI_SECRET"}},
		{"no host", func(c *Config) { c.AMIHost = "" }, []string{"ASTERISK_AMI_HOST"}},
		{"no apply", func(c *Config) { c.Apply = nil }, []string{"Apply"}},
		{"no ghostscript", func(c *Config) { c.GhostscriptPath = filepath.Join(spool, "no-gs") }, []string{"Ghostscript", "ASTERISK_GHOSTSCRIPT"}},
		{"spool with comma", func(c *Config) { c.SpoolDir = mustMkdir(t, filepath.Join(spool, "fax,out")) }, []string{"ASTERISK_SPOOL_DIR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := full
			tt.edit(&cfg)
			p := mustNew(t, cfg)
			defer p.Close()
			got := p.SendProblem()
			if len(tt.want) == 0 && got != "" {
				t.Fatalf("got problem %q, want none", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("got problem %q, want it to name %s", got, w)
				}
			}
			if strings.Contains(got, amiSecret) {
				t.Errorf("problem %q holds the secret", got)
			}
			if len(tt.want) > 0 {
				_, err := p.Send(context.Background(), outboundJob(jobA, "+15559870000"), faxTIFF(1, 1728, 64, compressionG4))
				if se := fax.AsSendError(err); err == nil || se.Outcome != fax.SendPermanent || se.Failure == nil {
					t.Errorf("Send: got %v, want a permanent error", err)
				}
			}
		})
	}
}

func TestNewSendingSettings(t *testing.T) {
	spool := t.TempDir()
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"e164 channel", func(c *Config) { c.Channel = "SIP/trunk/{e164}" }, ""},
		{"channel without number", func(c *Config) { c.Channel = "PJSIP/faxtrunk" }, "ASTERISK_CHANNEL"},
		{"channel with newline", func(c *Config) { c.Channel = "PJSIP/{number}@t\r\nAction: Command" }, "ASTERISK_CHANNEL"},
		{"context with comma", func(c *Config) { c.Context = "a,b" }, "ASTERISK_CONTEXT"},
		{"bad paper", func(c *Config) { c.PaperSize = "A5" }, "ASTERISK_PAPER_SIZE"},
		{"a4 paper", func(c *Config) { c.PaperSize = "A4" }, ""},
		{"negative timeout", func(c *Config) { c.FaxTimeout = -time.Second }, "ASTERISK_FAX_TIMEOUT"},
	}
	for _, tt := range tests {
		cfg := Config{SpoolDir: spool}
		tt.edit(&cfg)
		_, err := New(cfg)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: got error %v, want none", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: got error %v, want one naming %s", tt.name, err, tt.wantErr)
		}
	}
}

func TestWatch(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	rec := newRecorder()
	cfg := senderConfig(t, fake, rec)
	cfg.FaxTimeout = time.Minute
	p := newSender(t, cfg)
	// Handed two minutes ago, before a restart: its timeout is overdue.
	p.Watch(jobA, time.Now().Add(-2*time.Minute))
	if u := rec.next(t); u.FaxID != jobA || u.Failure == nil || u.Failure.Code != fax.FailTimeout {
		t.Errorf("got %+v, want job A failed with timeout", u)
	}
}

func TestHeaderText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Acme Clinic", "Acme Clinic"},
		{"Zürich\tOffice\r\n", "Z?rich Office"},
		{strings.Repeat("x", 80), strings.Repeat("x", maxHeaderLen)},
		{"a\x00b\x1bc", "abc"},
	}
	for _, tt := range tests {
		if got := headerText(tt.in); got != tt.want {
			t.Errorf("headerText(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
	if got, want := varValue(`a,b\c"d(e)`), `a\,b\\c\"d\(e\)`; got != want {
		t.Errorf("varValue: got %q, want %q", got, want)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkGoldenText compares got with the file at path, or writes it with
// -update.
func checkGoldenText(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestClose(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	fake.SetOriginate(func(c *amitest.Conn, a amitest.Action) { amitest.Queued(c, a) })
	rec := newRecorder()
	p := newSender(t, senderConfig(t, fake, rec))
	mustSend(t, p, outboundJob(jobA, "+15559870000"), faxTIFF(1, 1728, 64, compressionG4))
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not return within 2s")
	}
	_, err := p.Send(context.Background(), outboundJob(jobB, "+15559870000"), faxTIFF(1, 1728, 64, compressionG4))
	if se := fax.AsSendError(err); err == nil || se.Outcome != fax.SendRetryable {
		t.Errorf("Send after Close: got %v, want a retryable error", err)
	}
	// A provider never started closes too.
	q := mustNew(t, senderConfig(t, fake, rec))
	if err := q.Close(); err != nil {
		t.Errorf("Close of an unstarted provider: %v", err)
	}
}

// TestApplyRetried: a store failing for a moment must not lose a result
// Asterisk will not send again.
func TestApplyRetried(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	fake.SetOriginate(func(c *amitest.Conn, a amitest.Action) {
		amitest.Queued(c, a)
		amitest.OriginateResponse(c, a, "Failure", "5", "")
	})
	rec := newRecorder()
	cfg := senderConfig(t, fake, rec)
	var calls int
	cfg.Apply = func(ctx context.Context, u *fax.Update) (fax.ApplyResult, error) {
		calls++
		if calls < 3 {
			return fax.ApplyResult{}, errors.New("database is locked")
		}
		return rec.apply(ctx, u)
	}
	p := newSender(t, cfg)
	p.tracker.applyRetry = 10 * time.Millisecond
	mustSend(t, p, outboundJob(jobA, "+15559870000"), faxTIFF(1, 1728, 64, compressionG4))
	if u := rec.next(t); u.Failure == nil || u.Failure.Code != fax.FailBusy {
		t.Errorf("got %+v, want the busy failure applied on the third try", u)
	}
}

// TestFindAfterRestart: a provider that remembers nothing asks Asterisk
// which calls carry which fax, and tracks the one it finds.
func TestFindAfterRestart(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	fake.SetLive(amitest.Channel{Name: "PJSIP/faxtrunk-00000007", Uniqueid: "1700000300.9", Job: jobA}, amitest.Channel{Name: "PJSIP/phone-00000008", Uniqueid: "1700000300.10", Job: ""})
	rec := newRecorder()
	cfg := senderConfig(t, fake, rec)
	cfg.FaxTimeout = 300 * time.Millisecond
	p := newSender(t, cfg)
	uid, found, err := p.Find(context.Background(), outboundJob(jobA, "").Fax)
	if err != nil || !found || uid != "1700000300.9" {
		t.Fatalf("Find(job A): got %q, %v, %v; want its Uniqueid, found", uid, found, err)
	}
	// No live call does not prove the fax was never placed: an error, so
	// that it is never sent twice.
	if _, found, err := p.Find(context.Background(), outboundJob(jobB, "").Fax); err == nil || found {
		t.Fatalf("Find(job B): got found %v, %v; want an error (unknown)", found, err)
	}
	if a := fake.Received("Status"); len(a) != 2 || a[0].Get("Variables") != "FAXGATE_JOB" {
		t.Errorf("got Status actions %+v, want two asking for FAXGATE_JOB", a)
	}
	// The found fax is tracked: without a result it times out, and its
	// call is hung up.
	if u := rec.next(t); u.FaxID != jobA || u.Failure == nil || u.Failure.Code != fax.FailTimeout || u.ProviderFaxID != "1700000300.9" {
		t.Errorf("got %+v, want job A failed with timeout", u)
	}
	waitFor(t, "a Hangup", func() bool { return len(fake.Received("Hangup")) == 1 })
}

func TestFindUnreachable(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	rec := newRecorder()
	cfg := senderConfig(t, fake, rec)
	fake.Close()
	p := newSender(t, cfg)
	if _, found, err := p.Find(context.Background(), outboundJob(jobA, "").Fax); err == nil || found {
		t.Fatalf("got found %v, error %v; want an error: nothing is known", found, err)
	}
}

func TestCancel(t *testing.T) {
	fake := amitest.NewServer(t, nil)
	fake.SetOriginate(func(c *amitest.Conn, a amitest.Action) {
		amitest.Queued(c, a)
		amitest.OriginateResponse(c, a, "Success", "4", uidA)
	})
	rec := newRecorder()
	cfg := senderConfig(t, fake, rec)
	p := newSender(t, cfg)
	mustSend(t, p, outboundJob(jobA, "+15559870000"), faxTIFF(1, 1728, 64, compressionG4))
	rec.next(t) // sending: the channel is known now
	if err := p.Cancel(context.Background(), outboundJob(jobA, "").Fax); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	hangups := fake.Received("Hangup")
	if len(hangups) != 1 || hangups[0].Get("Channel") != "PJSIP/faxtrunk-0000002a" {
		t.Fatalf("got Hangups %+v, want one of the fax's channel", hangups)
	}
	if _, err := os.Stat(filepath.Join(cfg.SpoolDir, jobA+".tif")); !os.IsNotExist(err) {
		t.Errorf("TIFF of a canceled fax still spooled (stat: %v)", err)
	}
	if p.tracker.pending() != 0 {
		t.Errorf("a canceled fax is still tracked")
	}

	// A fax this process does not track: its call is found through Status.
	fake.SetLive(amitest.Channel{Name: "PJSIP/faxtrunk-00000009", Uniqueid: "1700000400.1", Job: jobB})
	if err := p.Cancel(context.Background(), outboundJob(jobB, "").Fax); err != nil {
		t.Fatalf("Cancel(job B): %v", err)
	}
	if h := fake.Received("Hangup"); len(h) != 2 || h[1].Get("Channel") != "PJSIP/faxtrunk-00000009" {
		t.Errorf("got Hangups %+v, want the second of job B's channel", h)
	}
	// No call at all: nothing to hang up, and that is no error.
	fake.SetLive()
	if err := p.Cancel(context.Background(), outboundJob("fax_none", "").Fax); err != nil {
		t.Errorf("Cancel without a call: %v", err)
	}
	if n := len(fake.Received("Hangup")); n != 2 {
		t.Errorf("got %d Hangups, want still 2", n)
	}
}

func mustMkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
