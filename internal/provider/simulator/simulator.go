// Package simulator is the built-in carrier that needs no account: it
// behaves like a real line (each page takes PageDelay), fails numbers ending
// in 0001 as busy and 0002 as no answer, answers numbers ending in 0003
// only from the second dial on (busy the first time), and reports progress and outcome as
// carrier updates through the same apply path real carriers' callbacks take.
// It also receives simulated faxes with a generated PDF.
//
// It imports internal/fax, the carrier contract (internal/provider) and the
// settings (internal/config, read by Build) only.
package simulator

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Name is the carrier's name in settings and fax objects.
const Name = "simulator"

// Config configures the simulator.
type Config struct {
	// PageDelay is how long each page takes (FAXGATE_SIMULATOR_PAGE_DELAY,
	// default 0).
	PageDelay time.Duration
	// Apply applies an update as a carrier callback would (required).
	Apply func(ctx context.Context, u *fax.Update) (fax.ApplyResult, error)
	// SamplePDF makes the document of a received fax (required for Receive).
	SamplePDF func(pages int, lines []string) ([]byte, error)
	// Sleep waits d or until ctx ends (default: a timer); tests inject one.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Simulator is the simulated carrier.
type Simulator struct {
	cfg Config
}

// New returns a simulator.
func New(cfg Config) *Simulator {
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	return &Simulator{cfg: cfg}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Send "transmits" the fax: it dials, sends each page, and reports each
// page and the outcome as updates. It returns when the call is over. A call
// cut short by ctx returns ctx's error; resending after a crash repeats only
// what was not yet reported, since repeated updates are deduplicated.
func (s *Simulator) Send(ctx context.Context, job *fax.DispatchJob, _ []byte) (string, error) {
	f := job.Fax
	id := "sim_" + strings.TrimPrefix(f.ID, fax.PrefixFax)
	// Each attempt is a call of its own, with its own id and events: a
	// redial's busy signal is not a repeat of the first one's.
	attempt := len(f.Attempts) + 1
	if attempt > 1 {
		id += "_" + strconv.Itoa(attempt)
	}
	apply := func(u fax.Update) (fax.ApplyResult, error) {
		u.Provider, u.FaxID, u.ProviderFaxID = Name, f.ID, id
		return s.cfg.Apply(ctx, &u)
	}
	// Dialling takes as long as a page.
	if err := s.cfg.Sleep(ctx, s.cfg.PageDelay); err != nil {
		return "", err
	}
	switch {
	case strings.HasSuffix(f.To, "0001"), strings.HasSuffix(f.To, "0003") && f.DialNumber() == 1:
		_, err := apply(fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusFailed, Failure: &fax.Failure{
			Code: fax.FailBusy, Message: "the line was busy", CarrierType: "lineError", CarrierCode: "17", CarrierMessage: "Busy"}})
		return id, err
	case strings.HasSuffix(f.To, "0002"):
		if err := s.cfg.Sleep(ctx, s.cfg.PageDelay); err != nil {
			return "", err
		}
		_, err := apply(fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusFailed, Failure: &fax.Failure{
			Code: fax.FailNoAnswer, Message: "no answer", CarrierType: "lineError", CarrierCode: "16", CarrierMessage: "Ring timeout"}})
		return id, err
	}
	pages := max(f.Pages, 1)
	for p := 1; p <= pages; p++ {
		if err := s.cfg.Sleep(ctx, s.cfg.PageDelay); err != nil {
			return "", err
		}
		res, err := apply(fax.Update{Kind: fax.UpdatePage, Page: p, Pages: pages})
		if err != nil {
			return "", err
		}
		if res.Stale {
			return id, nil // canceled (or otherwise ended) mid-call: hang up
		}
	}
	_, err := apply(fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusSent, Pages: pages})
	return id, err
}

// Find answers, after a crash mid-send, that the simulator does not have the
// fax: it runs inside the process, so a call cut off by a crash ended with
// it, and sending again is right.
func (s *Simulator) Find(ctx context.Context, f *fax.Fax) (string, bool, error) {
	return "", false, nil
}

// Receive simulates an incoming fax of pages pages from from to to and
// returns the new fax's id.
func (s *Simulator) Receive(ctx context.Context, from, to string, pages int) (string, error) {
	pdf, err := s.cfg.SamplePDF(pages, []string{"From: " + from, "To: " + to, "Received by the faxgate simulator"})
	if err != nil {
		return "", err
	}
	now := time.Now().UTC()
	provID := fax.NewID("simin_", now)
	res, err := s.cfg.Apply(ctx, &fax.Update{
		Provider: Name, Kind: fax.UpdateInbound, ProviderFaxID: provID, EventKey: "inbound:" + provID,
		Status: fax.StatusReceived, From: from, To: to, Pages: pages,
		Document: &fax.InboundDocument{Bytes: pdf}, OccurredAt: now,
	})
	if err != nil {
		return "", err
	}
	return res.FaxID, nil
}

// Check always succeeds: the simulator has no account to log in to.
func (s *Simulator) Check(context.Context) (string, error) {
	return "the simulator needs no credentials", nil
}
