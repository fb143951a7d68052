// Package gofax is faxgate's adapter for GoFax (gofax.com.au): it owns GoFax's
// wire format. This part covers what GoFax sends faxgate: verifying and parsing
// the fax-sent, SMS-sent and fax-received webhooks into fax.Update values, the
// per-fax CallbackURL faxgate hands to GoFax, and fetching a received fax's
// document through GoFax's REST API.
//
// GoFax posts URL-encoded form fields and appends them to any query the
// webhook URL already has, so every parser reads the query and the body as
// one set of fields. GoFax cannot put Basic credentials on a per-job
// CallbackURL, which is why callbacks may instead carry an unguessable
// per-fax token that faxgate stored when it sent the fax.
//
// The package depends only on the standard library and internal/fax. It must
// not import the store, ingest, api or any other adapter: the ingest layer
// calls it, never the reverse.
package gofax
