package client

import (
	"encoding/json"
	"time"
)

// These types mirror the wire JSON of API v1 (internal/wire in the gateway);
// TestTypesMatchWire fails when a field is added there and not here.

// FaxError is why a fax failed.
type FaxError struct {
	Code           string `json:"code"`
	Message        string `json:"message"`
	CarrierType    string `json:"carrier_type,omitempty"`
	CarrierCode    string `json:"carrier_code,omitempty"`
	CarrierMessage string `json:"carrier_message,omitempty"`
}

// Fax is a sent or received fax.
type Fax struct {
	ID             string    `json:"id"`
	Direction      string    `json:"direction"`
	Status         string    `json:"status"`
	To             string    `json:"to"`
	From           string    `json:"from"`
	Provider       string    `json:"provider"`
	ProviderFaxID  *string   `json:"provider_fax_id"`
	Pages          int       `json:"pages"`
	PagesSent      int       `json:"pages_sent"`
	Error          *FaxError `json:"error"`
	CallbackURL    *string   `json:"callback_url"`
	HeaderText     *string   `json:"header_text,omitempty"`
	BatchID        string    `json:"batch_id,omitempty"`
	DocumentSHA256 *string   `json:"document_sha256"`
	DocumentSize   int64     `json:"document_size"`
	DocumentPurged bool      `json:"document_purged,omitempty"`
	// DocumentStatus is set on received faxes: pending while the document
	// is fetched from the carrier, then available or unavailable (with
	// DocumentError saying why).
	DocumentStatus string     `json:"document_status,omitempty"`
	DocumentError  string     `json:"document_error,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	CompletedAt    *time.Time `json:"completed_at"`

	// What the carrier told about the call; empty when it did not say.
	StationID       string `json:"station_id,omitempty"`
	CallerID        string `json:"caller_id,omitempty"`
	DurationSeconds int    `json:"duration_seconds,omitempty"`
	BitRate         int    `json:"bit_rate,omitempty"`
	// MaxAttempts is how many times in all the number may be dialed.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// Attempts lists every try, once the fax had more than one (a redial
	// of a busy line, or a carrier failover).
	Attempts []FaxAttempt `json:"attempts,omitempty"`
}

// Batch is the answer to a send to several numbers: one fax per number,
// in the order given.
type Batch struct {
	BatchID string `json:"batch_id"`
	Data    []Fax  `json:"data"`
}

// Final reports whether the fax's status can no longer change.
func (f *Fax) Final() bool {
	switch f.Status {
	case "queued", "sending":
		return false
	}
	return true
}

// Event is an entry of a fax's timeline. Data is the fax as it was then
// (FaxEventData).
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// Endpoint is a webhook endpoint. Secret is set only by CreateEndpoint and
// RotateEndpointSecret.
type Endpoint struct {
	ID             string    `json:"id"`
	URL            string    `json:"url"`
	Events         []string  `json:"events"`
	Inflight       bool      `json:"inflight"`
	Format         string    `json:"format"`
	Numbers        []string  `json:"numbers"`
	Description    string    `json:"description"`
	APIVersion     string    `json:"api_version"`
	Enabled        bool      `json:"enabled"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	Secret         string    `json:"secret,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Attempt is one attempt of a delivery.
type Attempt struct {
	At           time.Time `json:"at"`
	StatusCode   int       `json:"status_code"`
	LatencyMS    int64     `json:"latency_ms"`
	Error        string    `json:"error"`
	ResponseBody string    `json:"response_body,omitempty"`
}

// Delivery is one event on its way to one endpoint: pending, succeeded or
// failed.
type Delivery struct {
	ID            string     `json:"id"`
	EndpointID    string     `json:"endpoint_id"`
	EventID       string     `json:"event_id"`
	EventType     string     `json:"event_type"`
	FaxID         string     `json:"fax_id,omitempty"`
	Status        string     `json:"status"`
	AttemptCount  int        `json:"attempt_count"`
	Attempts      []Attempt  `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// APIKey is an API key. Key is set only by CreateAPIKey, once.
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []string   `json:"scopes"`
	Key        string     `json:"key,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// SMS is a text message sent through a carrier that sends them.
type SMS struct {
	ID            string     `json:"id"`
	To            string     `json:"to"`
	TextLength    int        `json:"text_length"`
	Provider      string     `json:"provider"`
	ProviderSMSID *string    `json:"provider_sms_id"`
	Status        string     `json:"status"`
	Error         *FaxError  `json:"error"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	CompletedAt   *time.Time `json:"completed_at"`
}

// AuditEntry is one record of the audit trail.
type AuditEntry struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	TargetType string    `json:"target_type"`
	TargetID   string    `json:"target_id"`
	Outcome    string    `json:"outcome"`
	RemoteAddr string    `json:"remote_addr"`
	Detail     string    `json:"detail"`
}

// Page is one page of a list; NextCursor is empty on the last.
type Page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}

// FaxEventData is the data of a fax event: the fax, plus the page for
// fax.page_sent and the retry count for fax.retry_scheduled.
type FaxEventData struct {
	Fax
	Page       int `json:"page,omitempty"`
	RetryCount int `json:"retry_count,omitempty"`
	// Attempt, Reason and RetryAt describe a redial the gateway scheduled
	// (fax.retry_scheduled): the attempt to come, why the last ended and
	// when the next is due.
	Attempt int        `json:"attempt,omitempty"`
	Reason  string     `json:"reason,omitempty"`
	RetryAt *time.Time `json:"retry_at,omitempty"`
}

// FaxAttempt is one try at sending a fax: "redial" (busy or unanswered,
// dialed again later), "failover" (the carrier did not accept it; the
// next carrier took over) or, for the current or last try, the fax's
// status.
type FaxAttempt struct {
	Number        int        `json:"number"`
	Provider      string     `json:"provider"`
	ProviderFaxID *string    `json:"provider_fax_id"`
	StartedAt     time.Time  `json:"started_at"`
	EndedAt       *time.Time `json:"ended_at"`
	Outcome       string     `json:"outcome"`
	Error         *FaxError  `json:"error"`
	RetryAt       *time.Time `json:"retry_at,omitempty"`
}
