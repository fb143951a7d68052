// Package asterisk is faxgate's adapter for a self-hosted Asterisk (SIP/T.38)
// server, both ways.
//
// Receiving: the dialplan posts each received fax to
// /_internal/asterisk/inbound as JSON after ReceiveFAX; this package verifies
// that request (shared secret, optional source networks), parses it into a
// fax.Update and confines the TIFF it names to the spool directory shared
// with Asterisk.
//
// Sending: Send renders the document into a fax TIFF in the spool with
// Ghostscript (ToTIFF), then asks Asterisk over its manager interface (AMI)
// to originate a call whose dialplan runs SendFAX. The AMI client (ami.go)
// keeps one logged-in session with a single reader goroutine, reconnects
// with jittered backoff and pings to find dead connections. The results
// Asterisk reports later as events (OriginateResponse, and the dialplan's
// UserEvent FaxResult) become fax.Updates applied through Config.Apply; a
// fax with no final result within Config.FaxTimeout fails with code
// timeout. deploy/asterisk holds a matching dialplan.
//
// The package depends only on the standard library, internal/fax, the
// carrier contract (internal/provider), its helpers (internal/provider/carrier),
// the one TIFF reader (internal/document) and the settings (internal/config,
// read by Build only). It must not import the store, ingest, api or any
// other adapter.
package asterisk
