// Package email sends faxgate's notification emails through the operator's
// SMTP relay (FAXGATE_SMTP_URL): it speaks SMTP with STARTTLS or implicit
// TLS, authenticates with AUTH PLAIN or LOGIN, and builds the MIME message
// (text and HTML alternatives, base64 attachments, RFC 2047 subject).
//
// It is an adapter: it imports only the standard library, never the domain,
// the store or the webhook package that uses it. Its errors never carry the
// relay's credentials, and a relay's permanent refusal of a message is told
// apart from a transient failure by the Error type, not by text.
package email
