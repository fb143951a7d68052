package fax

import "time"

// Direction says whether faxgate sent or received a fax.
type Direction string

const (
	Outbound Direction = "outbound"
	Inbound  Direction = "inbound"
)

// Valid reports whether d is a known direction.
func (d Direction) Valid() bool { return d == Outbound || d == Inbound }

// Fax is one fax, sent or received.
type Fax struct {
	ID            string
	Direction     Direction
	Status        Status
	To            string
	From          string
	Provider      string
	ProviderFaxID string
	Pages         int
	PagesSent     int
	Failure       *Failure
	CallbackURL   string
	HeaderText    string
	// MaxAttempts is how many times in all the number may be dialed, the
	// first included (0 counts as 1); the API fills in
	// FAXGATE_REDIAL_ATTEMPTS when a send does not say.
	MaxAttempts int
	// Attempts are the earlier tries that ended without the fax (a redial
	// or a failover), oldest first.
	Attempts []DialAttempt
	// BatchID is the batch_id shared by the faxes of one send to several
	// recipients; "" for a fax sent alone or received.
	BatchID string

	// Document is the stored original (outbound) or received PDF (inbound).
	DocumentKey    string
	DocumentType   string // MIME type of the stored document
	DocumentSize   int64
	DocumentSHA256 string
	DocumentPurged bool
	// DocumentStatus says where a received fax's document stands (empty
	// for outbound faxes, whose document is the one sent); DocumentError
	// says why it is unavailable.
	DocumentStatus DocumentStatus
	DocumentError  string

	// OwnerKeyID is the API key that sent the fax ("" for received faxes
	// and the admin key).
	OwnerKeyID     string
	IdempotencyKey string
	// CallbackToken is an unguessable per-fax secret faxgate puts in the
	// callback URL of carriers that cannot sign per-job callbacks (GoFax).
	CallbackToken string

	// Details is what the carrier told about the call, kept as reported.
	Details Details

	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt *time.Time
}

// Failure says why a fax failed, in faxgate's words (Code, Message) and the
// carrier's own (CarrierType, CarrierCode, CarrierMessage).
type Failure struct {
	Code           string
	Message        string
	CarrierType    string
	CarrierCode    string
	CarrierMessage string
}

// Failure codes faxgate reports.
const (
	FailBusy           = "busy"
	FailNoAnswer       = "no_answer"
	FailCongestion     = "congestion"
	FailLine           = "line_error"
	FailFax            = "fax_error"
	FailDocument       = "document_error"
	FailNotOperational = "number_not_operational"
	FailCarrier        = "carrier_error"
	FailCanceled       = "canceled"
	FailTimeout        = "timeout"
	FailGeneral        = "general_error"
	// FailReception marks a received fax whose reception ended before any
	// document arrived: it is kept, status partial, without a document.
	FailReception = "reception_failed"
	// FailNotConfirmed: faxgate could not learn from the carrier whether
	// it took or sent the fax (an ambiguous hand-over on a carrier that
	// cannot be asked, or no result within the carrier's result timeout).
	// The carrier may still have sent it, so a later final report from the
	// carrier replaces this failure (see Apply).
	FailNotConfirmed = "not_confirmed"
)

// DocumentStatus is where a received fax's document stands: pending while
// it is fetched from the carrier, then available or unavailable. It only
// moves forward, from pending (see workflow.Settle).
type DocumentStatus string

const (
	DocumentPending     DocumentStatus = "pending"
	DocumentAvailable   DocumentStatus = "available"
	DocumentUnavailable DocumentStatus = "unavailable"
)

// Valid reports whether d is a known document status.
func (d DocumentStatus) Valid() bool {
	return d == DocumentPending || d == DocumentAvailable || d == DocumentUnavailable
}

// FaxFilter selects faxes for listing, newest first.
type FaxFilter struct {
	Direction Direction
	Status    Status
	// DocumentStatus "" means any; else only received faxes with it.
	DocumentStatus DocumentStatus
	OwnerKeyID     string // "" means any
	To             Number // "" means any; else the whole E.164 number
	From           Number // "" means any; else the whole E.164 number
	Provider       string // "" means any
	BatchID        string // "" means any
	// CreatedAfter and CreatedBefore bound created_at to a half-open range
	// [CreatedAfter, CreatedBefore), so that adjacent ranges never share a
	// fax; a zero time leaves that side open.
	CreatedAfter  time.Time
	CreatedBefore time.Time
	Limit         int
	Cursor        string // ID of the last fax of the previous page
}

// ListDirection is the direction a list filtered by fl reads: the one
// asked for, else the one its status implies (each status belongs to one
// direction), so that the (direction, status, id) index serves a filter on
// status alone. "" means both.
func (fl *FaxFilter) ListDirection() Direction {
	switch {
	case fl.Direction != "" || fl.Status == "":
		return fl.Direction
	case fl.Status.OutboundStatus():
		return Outbound
	}
	return Inbound
}

// DefaultLimit and MaxLimit bound list pages.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// PageLimit is the page size a list asks for with n: DefaultLimit when n
// is not positive, at most MaxLimit.
func PageLimit(n int) int {
	if n <= 0 {
		return DefaultLimit
	}
	return min(n, MaxLimit)
}

// Page cuts a list read with PageLimit+1 rows to limit and returns the
// cursor of the next page: the id of its last item, "" on the last page.
func Page[T any](items []T, limit int, id func(T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, id(items[limit-1])
}

// CreateOptions carries what storing a new outbound fax needs beside the fax.
type CreateOptions struct {
	// RequestHash fingerprints the request, so that an Idempotency-Key
	// reused for a different request is refused.
	RequestHash string
	// CallbackSecret signs deliveries to the fax's own callback_url.
	CallbackSecret string
	// CallbackFormat is the payload format for the callback_url (default json).
	CallbackFormat string
}

// BlobInfo describes a stored document.
type BlobInfo struct {
	Key    string
	Size   int64
	SHA256 string
}

// Stats are counts over the store, read when metrics are scraped.
type Stats struct {
	// Faxes counts faxes by provider, direction and status.
	Faxes []StatsCount
	// Deliveries counts deliveries by status.
	Deliveries []StatsCount
	// Queues are work waiting: "dispatch" (faxes to hand to carriers),
	// "delivery" (webhook deliveries due or waiting for a retry) and
	// "inbound" (received documents to fetch), with the age of the oldest.
	Queues []QueueStats
}

// StatsCount is one group of a count.
type StatsCount struct {
	Provider  string
	Direction Direction
	Status    string
	Count     int64
}

// QueueStats is the depth of a work queue and the age of its oldest item.
type QueueStats struct {
	Name      string
	Depth     int64
	OldestAge time.Duration
}
