// Package webhook delivers events to users' endpoints: it signs requests with
// Standard Webhooks headers, renders each endpoint's payload format, connects
// only to addresses a user may legitimately point at (no loopback, private,
// link-local or metadata addresses, checked at connect time so DNS rebinding
// cannot get round it), and runs the pool of workers that claims due
// deliveries from the store, makes one attempt each and records the outcome
// with the next attempt time from the retry schedule.
//
// Routing events to endpoints and writing deliveries happen in the store in
// the same transaction as the state change that caused them; this package
// only consumes claimed deliveries through the Store interface it declares.
// What to do about an endpoint whose deliveries keep failing, or that answered
// 410 Gone, is the store's decision: the worker only records the outcome.
//
// Formats: "json" (the default, Payload), "phaxio" (Phaxio's v2.1 multipart
// webhooks with X-Phaxio-Signature, buildPhaxio) and "gofax" (GoFax's form
// fields, buildGoFax); every one also carries the Standard Webhooks headers.
// mailto: endpoints get one email per event through a Mailer instead. At most
// Options.PerHost attempts run at once per destination: an HTTP endpoint's
// host and port, or the SMTP relay.
//
// It imports the domain (internal/fax), the wire shapes it reads event data
// with (internal/wire), internal/email for its Attachment type,
// internal/provider/phaxio for Phaxio's signature only, and the standard
// library; never the store or the API.
package webhook
