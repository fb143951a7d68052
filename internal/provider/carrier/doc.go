// Package carrier owns what the HTTP fax carriers' adapters (phaxio, sinch,
// gofax) and the Asterisk adapter do alike: sending a request while tracking
// whether it may have arrived, classifying an answer or its absence as a
// retryable, permanent or ambiguous *fax.SendError, reading bounded
// multipart and urlencoded webhook bodies, and turning a carrier's words
// into a bounded, clean fax.Failure.
//
// Each carrier's wire format (field names, error vocabulary, endpoints)
// stays in its own package. This package imports only the standard library
// and internal/fax; it must not import any carrier package or anything above them.
package carrier
