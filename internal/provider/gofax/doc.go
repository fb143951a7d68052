// Package gofax is faxgate's adapter for GoFax (gofax.com.au): it owns GoFax's
// wire format both ways. Out: Send submits a fax (PUT /v1.0/SendFax) with a
// per-fax CallbackURL, SendSMS an SMS (PUT /v1.0/SMS), and FileRequest and
// DecodeFile download a received fax's document. In: the fax-sent, SMS-sent and
// fax-received webhooks are verified and parsed into fax.Update values.
//
// GoFax authenticates API calls with a token in the query string, so no
// error or log may carry a request URL as it is: errors name the path only.
// GoFax's answers are classified for the dispatcher as *fax.SendError:
// retryable when GoFax clearly did not take the fax, permanent when it
// refused it, ambiguous when it may have.
//
// GoFax posts URL-encoded form fields and appends them to any query the
// webhook URL already has, so every parser reads the query and the body as
// one set of fields. GoFax cannot put Basic credentials on a per-job
// CallbackURL, which is why callbacks may instead carry an unguessable
// per-fax token that faxgate stored when it sent the fax. GoFax documents no
// per-message callback for SMS: SMS results arrive on the account-level
// webhook set in GoFax's portal.
//
// The package depends only on the standard library, internal/fax, the
// carrier contract (internal/provider), its helpers
// (internal/provider/carrier) and the settings (internal/config, read by
// Build only). It must not import the store, ingest, api or
// any other adapter: the ingest layer calls it, never the reverse.
package gofax
