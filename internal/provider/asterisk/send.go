package asterisk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// maxHeaderLen is the longest header line faxgate passes to SendFAX; the
// T.30 header a fax machine prints has room for about this much.
const maxHeaderLen = 50

// originatePrefix starts the ActionID of every Originate faxgate sends; the
// fax id follows, so that an OriginateResponse names its fax even after a
// restart.
const originatePrefix = "faxgate:originate:"

// sendConfig is Config's sending part with defaults applied.
type sendConfig struct {
	channel, context, exten string
	priority                int
	dialTimeout, faxTimeout time.Duration
	gs                      string
	convertTimeout          time.Duration
	paper                   string
	apply                   func(ctx context.Context, u *fax.Update) (fax.ApplyResult, error)
	log                     *slog.Logger
	reconnectMin            time.Duration
	reconnectMax            time.Duration
	pingEvery               time.Duration
	actionTimeout           time.Duration
	connectWait             time.Duration
}

// configureSending validates and defaults the sending settings.
func (p *Provider) configureSending(cfg Config) error {
	o := sendConfig{
		channel: cfg.Channel, context: cfg.Context, exten: cfg.Exten, priority: cfg.Priority,
		dialTimeout: cfg.DialTimeout, faxTimeout: cfg.FaxTimeout, gs: cfg.GhostscriptPath,
		convertTimeout: cfg.ConvertTimeout, paper: strings.ToLower(cfg.PaperSize), apply: cfg.Apply, log: cfg.Logger,
		reconnectMin: cfg.ReconnectMin, reconnectMax: cfg.ReconnectMax, pingEvery: cfg.PingInterval,
		actionTimeout: cfg.ActionTimeout, connectWait: cfg.ConnectWait,
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defd := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.channel, DefaultChannel)
	def(&o.context, DefaultContext)
	def(&o.exten, DefaultExten)
	def(&o.gs, "gs")
	def(&o.paper, "letter")
	if o.priority == 0 {
		o.priority = 1
	}
	defd(&o.dialTimeout, DefaultDialTimeout)
	defd(&o.faxTimeout, DefaultFaxTimeout)
	defd(&o.convertTimeout, DefaultConvertTimeout)
	defd(&o.reconnectMin, time.Second)
	defd(&o.reconnectMax, 30*time.Second)
	defd(&o.pingEvery, 30*time.Second)
	defd(&o.actionTimeout, 10*time.Second)
	defd(&o.connectWait, 5*time.Second)
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}

	switch {
	case !strings.Contains(o.channel, "{number}") && !strings.Contains(o.channel, "{e164}"):
		return fmt.Errorf("asterisk: ASTERISK_CHANNEL must contain {number} or {e164}, such as %s", DefaultChannel)
	case !plainValue(o.channel):
		return fmt.Errorf("asterisk: ASTERISK_CHANNEL must be one line of printable characters without commas")
	case !plainValue(o.context) || strings.ContainsAny(o.context, " \t"):
		return fmt.Errorf("asterisk: ASTERISK_CONTEXT must be a dialplan context name")
	case !plainValue(o.exten) || strings.ContainsAny(o.exten, " \t"):
		return fmt.Errorf("asterisk: ASTERISK_EXTEN must be a dialplan extension")
	case o.priority < 1:
		return fmt.Errorf("asterisk: the Originate priority must be 1 or more")
	case o.paper != "letter" && o.paper != "a4" && o.paper != "legal":
		return fmt.Errorf("asterisk: ASTERISK_PAPER_SIZE must be letter, a4 or legal")
	case strings.ContainsAny(o.gs, "\r\n\x00"):
		return fmt.Errorf("asterisk: ASTERISK_GHOSTSCRIPT must be a program name or path")
	}
	for name, d := range map[string]time.Duration{
		"the dial timeout": o.dialTimeout, "ASTERISK_FAX_TIMEOUT": o.faxTimeout, "the convert timeout": o.convertTimeout,
		"the reconnect delay": o.reconnectMin, "the reconnect cap": o.reconnectMax, "the ping interval": o.pingEvery,
		"the action timeout": o.actionTimeout, "the connect wait": o.connectWait,
	} {
		if d < 0 {
			return fmt.Errorf("asterisk: %s must not be negative", name)
		}
	}
	o.reconnectMax = max(o.reconnectMax, o.reconnectMin)
	p.out = o
	p.tracker = newTracker(p)
	return nil
}

// plainValue reports whether s is one line of printable text without the
// characters that separate dialplan arguments.
func plainValue(s string) bool {
	if s == "" || !utf8.ValidString(s) || strings.ContainsAny(s, ",|") {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// SendProblem says why Send cannot work, naming what to set, or "" when it
// can: the AMI host and credentials, the result path (Apply) and a
// Ghostscript to run.
func (p *Provider) SendProblem() string {
	var missing []string
	if p.amiHost == "" {
		missing = append(missing, "ASTERISK_AMI_HOST")
	}
	if p.amiUser == "" {
		missing = append(missing, "ASTERISK_AMI_USER")
	}
	if p.amiSecret == "" {
		missing = append(missing, "ASTERISK_AMI_SECRET")
	}
	var problems []string
	if len(missing) > 0 {
		problems = append(problems, "set "+strings.Join(missing, ", "))
	}
	if p.out.apply == nil {
		problems = append(problems, "no result path is wired (asterisk.Config.Apply)")
	}
	if strings.ContainsAny(p.spoolDir, `,|()[]{}"'\;$`) || !plainValue(p.spoolDir) {
		// SendFAX(${FAXFILE}) splits its arguments after substitution.
		problems = append(problems, "ASTERISK_SPOOL_DIR holds characters the dialplan cannot pass to SendFAX (such as , ( ) \\ or quotes)")
	}
	if _, err := exec.LookPath(p.out.gs); err != nil {
		problems = append(problems, fmt.Sprintf("Ghostscript %q is not installed or not executable (install ghostscript or set ASTERISK_GHOSTSCRIPT)", p.out.gs))
	}
	if len(problems) == 0 {
		return ""
	}
	return "Asterisk cannot send: " + strings.Join(problems, "; ")
}

// Start connects to AMI in the background and keeps the session up until
// Close, so that results of faxes sent before a restart are still heard.
// Send starts it too; calling it more than once is harmless. Without AMI
// settings it does nothing.
func (p *Provider) Start() {
	p.startOnce.Do(func() {
		if p.amiHost == "" || p.amiUser == "" || p.amiSecret == "" {
			return
		}
		p.ami = newAMIClient(amiOptions{
			addr: net.JoinHostPort(p.amiHost, p.amiPort), user: p.amiUser, secret: p.amiSecret,
			backoffMin: p.out.reconnectMin, backoffMax: p.out.reconnectMax,
			pingEvery: p.out.pingEvery, actionTimeout: p.out.actionTimeout,
			onEvent: p.tracker.event, log: p.out.log,
		})
		p.tracker.start()
		p.ami.start()
	})
}

// Close stops the AMI session and the fax timers. Faxes still in progress
// keep going in Asterisk; their results are not heard until the next start
// (Watch re-arms their timeouts).
func (p *Provider) Close() error {
	p.startOnce.Do(func() {}) // a Start after Close does nothing
	if p.ami != nil {
		// The tracker first: the AMI reader may be waiting to hand it an
		// event.
		p.tracker.close()
		p.ami.close()
	}
	return nil
}

// Send converts the document into a fax TIFF in ASTERISK_SPOOL_DIR named
// <fax id>.tif and asks Asterisk over AMI to originate the call (Async):
// Channel from ASTERISK_CHANNEL, then Context/Exten/Priority, whose
// dialplan runs SendFAX(${FAXFILE}) and reports with UserEvent(FaxResult).
// It returns as soon as Asterisk has queued the call, with an empty
// provider id: Asterisk's id for the call (its Uniqueid) is known only
// when the call is answered and is reported then, as provider_fax_id.
//
// Results arrive later as AMI events and go through Config.Apply: sending
// when answered; failed with busy, no_answer, congestion or line_error when
// the call fails (OriginateResponse); sent or failed (fax_error) from the
// dialplan's FaxResult; failed with timeout when nothing final arrives
// within ASTERISK_FAX_TIMEOUT.
//
// Errors are *fax.SendError: AMI unreachable or not logged in, or an
// Originate that Asterisk failed to queue, is retryable; a document that
// cannot be rendered, a bad number or an Originate Asterisk refuses as
// invalid is permanent; a connection lost after the Originate was written
// is ambiguous, and Find then says whether the fax is with Asterisk.
func (p *Provider) Send(ctx context.Context, job *fax.DispatchJob, doc []byte) (string, error) {
	if job == nil || job.Fax == nil {
		return "", &fax.SendError{Outcome: fax.SendPermanent, Err: errors.New("asterisk: send: no fax")}
	}
	f := job.Fax
	if prob := p.SendProblem(); prob != "" {
		return "", &fax.SendError{Outcome: fax.SendPermanent,
			Failure: &fax.Failure{Code: fax.FailCarrier, Message: "Sending through Asterisk is not configured on this gateway."},
			Err:     errors.New("asterisk: send: " + prob)}
	}
	if !safeJobID(f.ID) {
		return "", &fax.SendError{Outcome: fax.SendPermanent, Err: fmt.Errorf("asterisk: send: fax id %q cannot name a spool file", carrier.Clip(f.ID, 40))}
	}
	to, err := fax.ParseNumber(f.To)
	if err != nil {
		return "", &fax.SendError{Outcome: fax.SendPermanent,
			Failure: &fax.Failure{Code: fax.FailGeneral, Message: "The destination is not a valid E.164 number."},
			Err:     fmt.Errorf("asterisk: send: %w", err)}
	}
	p.Start()
	if p.ami == nil {
		return "", &fax.SendError{Outcome: fax.SendRetryable, Err: errors.New("asterisk: send: the provider is closed")}
	}
	if _, err := p.ami.waitReady(ctx, p.out.connectWait); err != nil {
		return "", &fax.SendError{Outcome: fax.SendRetryable, Err: fmt.Errorf("asterisk: send: Asterisk's manager interface is not available: %w", err)}
	}

	path, err := p.spool(ctx, f.ID, doc)
	if err != nil {
		if fax.ErrorCode(err) == fax.ECodeUnprocessable {
			return "", &fax.SendError{Outcome: fax.SendPermanent,
				Failure: &fax.Failure{Code: fax.FailDocument, Message: "The document could not be prepared for faxing: " + fax.ErrorMessage(err)},
				Err:     fmt.Errorf("asterisk: send: %w", err)}
		}
		return "", &fax.SendError{Outcome: fax.SendRetryable, Err: fmt.Errorf("asterisk: send: %w", err)}
	}

	// The job is tracked before the Originate goes out: Asterisk may answer
	// with an OriginateResponse before the action's own response is read.
	actionID := originatePrefix + f.ID
	p.tracker.add(f.ID, len(f.Attempts)+1)
	resp, err := p.ami.action(ctx, "Originate", p.originateFields(actionID, f, to, path)...)
	var ae *actionError
	switch {
	case err != nil && errors.As(err, &ae) && ae.written:
		// Asterisk may have queued the call: keep listening, and let the
		// timeout end the fax if nothing comes.
		p.tracker.arm(f.ID, p.out.faxTimeout)
		return "", &fax.SendError{Outcome: fax.SendAmbiguous, Err: err}
	case err != nil:
		p.tracker.drop(f.ID)
		return "", &fax.SendError{Outcome: fax.SendRetryable, Err: err}
	case strings.EqualFold(resp.Get("Response"), "Success"):
		p.tracker.arm(f.ID, p.out.faxTimeout)
		p.out.log.Info("Asterisk queued the fax call", "provider", Name, "fax_id", f.ID, "to", maskNumber(string(to)))
		return "", nil
	}
	p.tracker.drop(f.ID)
	return "", originateRefused(resp)
}

// originateFields is the Originate action, without Action and with its
// ActionID. Every value that may come from a user is made safe for AMI (no
// line breaks) and for the dialplan's argument parsing (varValue).
func (p *Provider) originateFields(actionID string, f *fax.Fax, to fax.Number, path string) []Field {
	digits := strings.TrimPrefix(string(to), "+")
	channel := strings.NewReplacer("{number}", digits, "{e164}", string(to)).Replace(p.out.channel)
	fields := []Field{
		{"ActionID", actionID},
		{"Channel", channel},
		{"Context", p.out.context},
		{"Exten", p.out.exten},
		{"Priority", strconv.Itoa(p.out.priority)},
		{"Timeout", strconv.FormatInt(p.out.dialTimeout.Milliseconds(), 10)},
	}
	from, fromErr := fax.ParseNumber(f.From)
	if f.From != "" && fromErr == nil {
		fields = append(fields, Field{"CallerID", string(from)})
	}
	fields = append(fields,
		Field{"Variable", "FAXFILE=" + varValue(path)},
		Field{"Variable", "FAXGATE_JOB=" + f.ID},
		Field{"Variable", "FAXGATE_HEADER=" + varValue(headerText(f.HeaderText))},
	)
	if fromErr == nil {
		fields = append(fields, Field{"Variable", "FAXGATE_STATIONID=" + varValue(string(from))})
	}
	return append(fields, Field{"Async", "true"})
}

// originateRefused classifies Asterisk's Response: Error to an Originate.
// "Originate failed" (Asterisk could not start the call, as when its
// channel driver is down) passes; anything naming bad input (an invalid
// channel, a missing permission) will not pass by itself, and fails the fax.
func originateRefused(resp Message) error {
	msg := carrier.Clip(resp.Get("Message"), 200)
	if msg == "" {
		msg = "Response: " + carrier.Clip(resp.Get("Response"), 40)
	}
	err := fmt.Errorf("asterisk: Originate refused: %s", msg)
	low := strings.ToLower(msg)
	if strings.Contains(low, "failed") && !strings.Contains(low, "invalid") || strings.Contains(low, "unable") || strings.Contains(low, "try again") {
		return &fax.SendError{Outcome: fax.SendRetryable, Err: err}
	}
	return &fax.SendError{Outcome: fax.SendPermanent, Err: err,
		Failure: &fax.Failure{Code: fax.FailCarrier, Message: "Asterisk refused to place the call.", CarrierType: "Originate", CarrierMessage: msg}}
}

// spool writes the fax TIFF as <spool>/<faxID>.tif, whole or not at all.
func (p *Provider) spool(ctx context.Context, faxID string, doc []byte) (string, error) {
	tmp, pages, err := p.ToTIFF(ctx, doc, p.spoolDir)
	if err != nil {
		return "", err
	}
	final := filepath.Join(p.spoolDir, faxID+".tif")
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("asterisk: spool: %w", err)
	}
	p.out.log.Debug("fax TIFF spooled", "provider", Name, "fax_id", faxID, "pages", pages)
	return final, nil
}

// Find tells the dispatcher, after a send whose outcome was unknown (a
// crash or a lost connection mid-send), whether Asterisk has the fax: while
// this process still tracks its call it does; otherwise Asterisk is asked
// for a live channel carrying FAXGATE_JOB=<fax id> (Action: Status), which
// is then tracked, timeout included. Find never reports found=false: a fax
// with no live call was either never placed or placed and ended while
// faxgate was not listening (a crash), and calling again could send it
// twice. The error then says so; the dispatcher holds the fax as not
// confirmed and ASTERISK_FAX_TIMEOUT ends it.
func (p *Provider) Find(ctx context.Context, f *fax.Fax) (string, bool, error) {
	if f == nil || !safeJobID(f.ID) {
		return "", false, errors.New("asterisk: find: the fax has no valid id")
	}
	if uid, ok := p.tracker.lookup(f.ID); ok {
		return uid, true, nil
	}
	call, err := p.liveCall(ctx, f.ID)
	if err != nil {
		return "", false, fmt.Errorf("asterisk: find: %w", err)
	}
	if call.channel == "" {
		return "", false, errors.New("asterisk: find: Asterisk has no live call for this fax, which does not prove it never placed one")
	}
	p.tracker.adopt(f.ID, len(f.Attempts)+1, call)
	p.tracker.arm(f.ID, p.out.faxTimeout)
	return call.uniqueid, true, nil
}

// Cancel stops a fax handed to Asterisk: its spooled TIFF is removed, so
// that a call not yet answered cannot send it, and a call in progress is
// hung up. The gateway records the cancellation itself; Asterisk's late
// results for the fax are stale then. Errors carry a *fax.Error:
// unavailable when Asterisk cannot be asked, so that cancelling again may
// work.
func (p *Provider) Cancel(ctx context.Context, f *fax.Fax) error {
	if prob := p.SendProblem(); prob != "" {
		return fax.Errorf(fax.ECodeUnavailable, "Asterisk is not set up for sending on this gateway (%s)", prob)
	}
	if f == nil || !safeJobID(f.ID) {
		return fax.Errorf(fax.ECodeInvalid, "the fax has no valid id")
	}
	j := p.tracker.end(f.ID, 0) // removes the TIFF whatever follows
	channel := ""
	if j != nil {
		channel = j.channel
	}
	if channel == "" {
		call, err := p.liveCall(ctx, f.ID)
		if err != nil {
			return fmt.Errorf("asterisk: cancel: %w: %w", fax.Errorf(fax.ECodeUnavailable, "Asterisk could not be asked about the call; try again"), err)
		}
		channel = call.channel
	}
	if channel == "" {
		return nil // no call up: with its TIFF gone, none can send the fax
	}
	resp, err := p.ami.action(ctx, "Hangup", Field{"Channel", channel})
	if err != nil {
		return fmt.Errorf("asterisk: cancel: %w: %w", fax.Errorf(fax.ECodeUnavailable, "Asterisk did not hang up the call; try again"), err)
	}
	if !strings.EqualFold(resp.Get("Response"), "Success") {
		// Most often the call ended meanwhile ("No such channel").
		p.out.log.Info("hang up for a canceled fax refused", "provider", Name, "fax_id", f.ID, "message", carrier.Clip(resp.Get("Message"), 100))
	}
	return nil
}

// liveCall is a channel Asterisk has up for a fax.
type liveCall struct{ channel, uniqueid string }

// liveCall asks Asterisk for the channel whose FAXGATE_JOB is faxID; a zero
// liveCall when there is none.
func (p *Provider) liveCall(ctx context.Context, faxID string) (liveCall, error) {
	if prob := p.SendProblem(); prob != "" {
		return liveCall{}, errors.New(prob)
	}
	p.Start()
	if p.ami == nil {
		return liveCall{}, errors.New("the provider is closed")
	}
	if _, err := p.ami.waitReady(ctx, p.out.connectWait); err != nil {
		return liveCall{}, err
	}
	resp, events, err := p.ami.actionList(ctx, "Status", Field{"Variables", "FAXGATE_JOB"})
	if err != nil {
		return liveCall{}, err
	}
	if !strings.EqualFold(resp.Get("Response"), "Success") {
		return liveCall{}, fmt.Errorf("status refused: %s", carrier.Clip(resp.Get("Message"), 100))
	}
	for _, ev := range events {
		if !strings.EqualFold(ev.Get("Event"), "Status") {
			continue
		}
		for _, fl := range ev.Fields {
			if !strings.EqualFold(fl.Key, "Variable") {
				continue
			}
			if name, val, ok := strings.Cut(fl.Value, "="); ok && name == "FAXGATE_JOB" && val == faxID {
				return liveCall{channel: ev.Get("Channel"), uniqueid: uniqueID(ev.Get("Uniqueid"))}, nil
			}
		}
	}
	return liveCall{}, nil
}

// Watch re-arms the timeout of a fax handed to Asterisk before a restart,
// so that it fails with code timeout if its result never comes: its
// ASTERISK_FAX_TIMEOUT runs from handedAt. Main calls it for the Asterisk
// faxes still in flight at start-up.
func (p *Provider) Watch(faxID string, handedAt time.Time) {
	if !safeJobID(faxID) || p.SendProblem() != "" {
		return
	}
	p.Start()
	p.tracker.add(faxID, 0)
	p.tracker.arm(faxID, max(time.Until(handedAt.Add(p.out.faxTimeout)), 0))
}

// safeJobID reports whether a fax id can name a spool file and travel in
// AMI fields and dialplan variables as it is.
func safeJobID(id string) bool {
	if id == "" || len(id) > maxIDLen || id[0] == '.' || id[0] == '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// headerText makes a fax's header_text fit a T.30 header: printable ASCII
// (anything else becomes '?', line breaks spaces), at most maxHeaderLen.
func headerText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\r' || r == '\n' || r == '\t':
			r = ' '
		case r < 0x20 || r == 0x7f:
			continue
		case r > 0x7e:
			r = '?'
		}
		if b.Len() >= maxHeaderLen {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// varValue escapes a value for an Originate Variable header. Asterisk
// splits that header's value at commas into several name=value pairs,
// honouring quotes, brackets and backslash escapes; a backslash before
// every such character keeps the value one value (Asterisk drops the
// backslash), so that no header text can set FAXFILE.
func varValue(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '\r' || r == '\n' {
			continue
		}
		if strings.ContainsRune(`\,"'()[]{}|;`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// maskNumber keeps a phone number's last four digits, for logs.
func maskNumber(n string) string {
	if len(n) <= 4 {
		return "****"
	}
	return strings.Repeat("*", len(n)-4) + n[len(n)-4:]
}
