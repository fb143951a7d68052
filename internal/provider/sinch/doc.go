// Package sinch is faxgate's adapter for the Sinch Fax API v3. It owns
// Sinch's wire format in both directions: sending faxes (Send with Basic or
// OAuth2 authentication, Find after a crash, Cancel) with every failure
// classified as retryable, permanent or ambiguous, and webhooks coming in:
// verifying Basic credentials and X-Sinch-Signature, and turning
// FAX_COMPLETED and INCOMING_FAX bodies into fax.Update values for the
// ingest path.
//
// It imports the domain (internal/fax), the carrier contract
// (internal/provider), the carriers' shared helpers (internal/provider/carrier),
// the settings (internal/config, read by Build only) and the standard
// library only; it must not import ingest, api, dispatch, the stores or any
// other carrier.
package sinch
