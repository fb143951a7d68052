// Package phaxio is faxgate's adapter for the Phaxio fax API v2.1. It owns
// Phaxio's wire format in both directions: sending faxes (Send, Find after a
// crash, Cancel) with every failure classified as retryable, permanent or
// ambiguous, and webhooks coming in: verifying X-Phaxio-Signature and
// turning Phaxio's callback and received-fax bodies into fax.Update values
// for the ingest path.
//
// It imports the domain (internal/fax), the carrier contract
// (internal/provider), the carriers' shared helpers (internal/provider/carrier),
// the settings (internal/config, read by Build only) and the standard
// library only; it must not import ingest, api, dispatch, the stores or any
// other carrier.
package phaxio
