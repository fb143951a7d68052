// Package fax is faxgate's domain: faxes, their directions and statuses and the
// legal transitions between them, events and event types, webhook endpoints,
// deliveries and attempts, API keys and scopes, E.164 numbers, the rules a
// request to send a fax, change an endpoint or make a key must follow, the
// retry policy of failed work, and the Error type every layer uses to say
// what went wrong in words safe to show a user.
//
// It imports only the standard library; every other package depends on it and
// it depends on none of them.
package fax
