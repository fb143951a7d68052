package fax

import "time"

// UpdateKind says what a carrier update reports.
type UpdateKind string

const (
	// UpdateStatus moves an outbound fax to Status.
	UpdateStatus UpdateKind = "status"
	// UpdatePage reports that page Page was sent (inflight).
	UpdatePage UpdateKind = "page"
	// UpdateRetry reports that the carrier scheduled retry RetryCount (inflight).
	UpdateRetry UpdateKind = "retry"
	// UpdateInbound reports a received fax.
	UpdateInbound UpdateKind = "inbound"
	// UpdateSMS reports the final status of an SMS (Status sent or failed).
	UpdateSMS UpdateKind = "sms"
)

// Update is what a carrier told faxgate, after verification and parsing, in
// faxgate's terms. Every carrier callback and the simulator produce Updates;
// one ingest path applies them.
type Update struct {
	Provider string
	Kind     UpdateKind
	// EventKey identifies the carrier event for deduplication: the same
	// carrier event delivered again has the same key. Empty: derived from
	// the other fields.
	EventKey string

	// FaxID is faxgate's id when the carrier echoes it (job_id).
	FaxID string
	// ProviderFaxID is the carrier's own id.
	ProviderFaxID string

	Status     Status
	Pages      int
	Page       int
	RetryCount int
	Failure    *Failure
	// Details is what the carrier told about the call, inbound or
	// outbound; zero fields are unknown (and left out of the JSON an
	// inbound job keeps).
	Details Details `json:",omitzero"`

	// Inbound only.
	From     string
	To       string
	Document *InboundDocument

	OccurredAt time.Time
}

// InboundDocument says where a received fax's document is. Exactly one of
// the fields is set.
type InboundDocument struct {
	// Bytes is a document that arrived in the webhook itself; the ingest
	// path stores it and replaces it with Key before applying.
	Bytes []byte `json:"-"`
	// Key is a blob already stored by the ingest path.
	Key    string
	SHA256 string
	Size   int64
	// URL is a carrier file URL to fetch in the background.
	URL string
	// FetchID is a carrier document id fetched through its API (GoFax).
	FetchID string
	// TIFFPath is an Asterisk spool file to convert.
	TIFFPath string
}

// ApplyResult says what applying an Update did.
type ApplyResult struct {
	FaxID     string
	Applied   bool // a state change or inflight event was recorded
	Duplicate bool // the same carrier event was seen before
	Stale     bool // ignored: it would move the fax backwards or repeat
	Unknown   bool // no fax matched; recorded for audit and acknowledged
	Events    []string
}

// InboundJob is a received fax waiting for its document to be fetched.
type InboundJob struct {
	ID       string
	Update   Update
	Attempts int // fetch attempts made before this one
}

// AuditEntry records an action, with metadata only: never document bytes,
// secrets or whole phone numbers.
type AuditEntry struct {
	ID         string
	At         time.Time
	Actor      string // "key_…", "admin", "carrier:phaxio", "system"
	Action     string // e.g. "fax.send", "webhook.rejected"
	TargetType string
	TargetID   string
	Outcome    string
	RemoteAddr string
	Detail     string
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	Action   string
	Actor    string
	TargetID string
	Since    *time.Time
	Until    *time.Time
	Limit    int
	Cursor   string
}
