// Package sinch is faxgate's adapter for the Sinch Fax API v3. It owns
// Sinch's wire format in both directions; this part covers webhooks coming
// in: verifying Basic credentials and X-Sinch-Signature, and turning
// FAX_COMPLETED and INCOMING_FAX bodies into fax.Update values for the ingest
// path.
//
// It imports the domain (internal/fax) and the standard library only; it must
// not import ingest, api, the stores or any other provider.
package sinch
