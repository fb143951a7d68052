// Package workflow holds the fax workflow once, above the stores: what a
// carrier update does to a fax or an SMS, what a received fax is, cancel and
// dispatch transitions, which events each causes with what data, which
// endpoints get each event, and when an endpoint is disabled. Its functions
// are pure: a store loads and locks the rows, calls the one rule that
// decides, and saves what it returned in the same transaction (outbox).
//
// It imports the domain (fax) and the public JSON shape (wire), which
// renders event data; it must not import a store, and the stores reach wire
// only through it.
package workflow
