// Package provider is the contract every carrier adapter (phaxio, sinch,
// gofax, asterisk, simulator) implements, so that Main keeps carriers in one
// map from name to Carrier and mounts, sends and looks up through it alike.
// What only some carriers can do (find a fax after a crash, start and
// close, fetch a received document, check a result, cancel) is asked for by optional interfaces
// declared where it is used.
//
// It imports the domain (internal/fax) and the standard library only; the
// carrier packages import it, never the reverse.
package provider

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/faxgate/faxgate/internal/fax"
)

// Carrier is one fax carrier: it sends faxes and names the webhook routes
// it posts to faxgate.
//
// Finding a fax after a crash (Find) is optional, asked for by dispatch as
// dispatch.Resumer: GoFax's API has no way to look a sent fax up, and a
// Find that always errs would make dispatch wait and ask in vain before
// holding the fax, where today it holds it at once.
type Carrier interface {
	// Name is the carrier's name in settings and fax objects
	// (FAXGATE_PROVIDER, the provider field).
	Name() string
	// Send hands the fax to the carrier and returns the carrier's id for
	// it; a failure is a *fax.SendError saying whether to retry.
	Send(ctx context.Context, job *fax.DispatchJob, doc []byte) (providerFaxID string, err error)
	// SendProblem says why the carrier cannot send, naming the missing
	// settings; "" when it can. A carrier may receive without sending.
	SendProblem() string
	// Routes are the webhook routes the carrier posts to, each verified
	// and parsed by the carrier itself.
	Routes() []Route
}

// Route is one webhook route of a carrier: a check before the body is read,
// then verify and parse of the body.
type Route struct {
	// Pattern is the ServeMux pattern, e.g. "POST /phaxio-callback".
	Pattern string
	// Document is true when the carrier may post a received document
	// inside the body there, so the route takes FAXGATE_CARRIER_MAX_BODY_BYTES
	// rather than FAXGATE_CARRIER_MAX_NOTICE_BYTES.
	Document bool
	// Preverify refuses, before the body is read, what Verify would refuse
	// whatever the body; authenticated true means a credential matched.
	Preverify func(r *http.Request) (authenticated bool, err error)
	// Verify proves that the body came from the carrier.
	Verify func(r *http.Request, body []byte) error
	// Parse turns a verified body into updates.
	Parse func(r *http.Request, body []byte) ([]fax.Update, error)
}

// Refused returns routes at patterns that refuse every request before its
// body is read, naming the setting that would enable the carrier: a carrier
// without settings keeps its addresses, so a carrier's webhook configured
// too early is told why rather than 404.
func Refused(setting string, patterns ...string) []Route {
	refuse := func(*http.Request) (bool, error) {
		return false, fax.Errorf(fax.ECodeUnauthorized, "this carrier is not configured (set %s)", setting)
	}
	refuseBody := func(*http.Request, []byte) error {
		return fax.Errorf(fax.ECodeUnauthorized, "carrier not configured")
	}
	noParse := func(*http.Request, []byte) ([]fax.Update, error) {
		return nil, fax.Errorf(fax.ECodeInvalid, "carrier not configured")
	}
	rs := make([]Route, len(patterns))
	for i, p := range patterns {
		rs[i] = Route{Pattern: p, Preverify: refuse, Verify: refuseBody, Parse: noParse}
	}
	return rs
}

// Deps is what a carrier may need from the gateway it runs in; Main gives
// the same Deps to every carrier's Build, and each takes what it uses.
type Deps struct {
	// CarrierIDFunc returns the carrier's id recorded for a faxgate fax id,
	// which a callback signed over its body alone must name.
	CarrierIDFunc func(ctx context.Context, faxID string) (string, error)
	// CallbackTokenFunc returns the per-fax token faxgate put in a
	// callback URL, or a *fax.Error with code not_found.
	CallbackTokenFunc func(ctx context.Context, faxID string) (string, error)
	// ApplyFunc applies an update on the ingest path, for carriers that
	// report from inside the process (Asterisk, the simulator).
	ApplyFunc func(ctx context.Context, u *fax.Update) (fax.ApplyResult, error)
	// SamplePDFFunc makes a document of pages (the simulator's received
	// faxes).
	SamplePDFFunc func(pages int, lines []string) ([]byte, error)
	// Logger receives the carrier's logs, with its name added.
	Logger *slog.Logger
}
