// Package asterisk is faxgate's adapter for a self-hosted Asterisk (SIP/T.38)
// server. This part covers what Asterisk tells faxgate: the dialplan posts
// each received fax to /_internal/asterisk/inbound as JSON after ReceiveFAX,
// and this package verifies that request (shared secret, optional source
// networks), parses it into a fax.Update and confines the TIFF it names to the
// spool directory shared with Asterisk. Sending over AMI comes later and will
// use the AMI settings already in Config.
//
// The package depends only on the standard library and internal/fax. It must
// not import the store, ingest, api or any other adapter.
package asterisk
