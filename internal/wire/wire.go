// Package wire holds the JSON shapes faxgate shows users, in the API and in
// webhook payloads, separate from the domain types so that the domain can
// change without changing what users parse. A shape published under an API
// version never changes; a new version adds a new shape.
//
// It imports only the standard library and internal/fax.
package wire

import (
	"encoding/json"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// TimeFormat is RFC 3339 in UTC with milliseconds, used for every timestamp.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Time formats t in UTC with milliseconds.
func Time(t time.Time) string { return t.UTC().Format(TimeFormat) }

func timePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := Time(*t)
	return &s
}

// Error is a fax's failure as users see it.
type Error struct {
	Code           string `json:"code"`
	Message        string `json:"message"`
	CarrierType    string `json:"carrier_type,omitempty"`
	CarrierCode    string `json:"carrier_code,omitempty"`
	CarrierMessage string `json:"carrier_message,omitempty"`
}

// Fax is the fax object (CONTRACT.md).
type Fax struct {
	ID            string  `json:"id"`
	Direction     string  `json:"direction"`
	Status        string  `json:"status"`
	To            string  `json:"to"`
	From          string  `json:"from"`
	Provider      string  `json:"provider"`
	ProviderFaxID *string `json:"provider_fax_id"`
	Pages         int     `json:"pages"`
	PagesSent     int     `json:"pages_sent"`
	Error         *Error  `json:"error"`
	CallbackURL   *string `json:"callback_url"`
	HeaderText    *string `json:"header_text,omitempty"`
	// BatchID is absent for a fax sent alone, so that its shape is the
	// one it always had.
	BatchID        *string `json:"batch_id,omitempty"`
	DocumentSHA256 *string `json:"document_sha256"`
	DocumentSize   int64   `json:"document_size"`
	DocumentPurged bool    `json:"document_purged,omitempty"`
	// DocumentStatus (pending, available, unavailable) is set on received
	// faxes only; DocumentError says why a document is unavailable.
	DocumentStatus string  `json:"document_status,omitempty"`
	DocumentError  string  `json:"document_error,omitempty"`
	CreatedAt      string  `json:"created_at"`
	UpdatedAt      string  `json:"updated_at"`
	CompletedAt    *string `json:"completed_at"`

	// What the carrier told about the call; each is left out when the
	// carrier did not say, so that shapes pinned before them stay as they
	// were for faxes without them.
	StationID       string `json:"station_id,omitempty"`
	CallerID        string `json:"caller_id,omitempty"`
	DurationSeconds int    `json:"duration_seconds,omitempty"`
	BitRate         int    `json:"bit_rate,omitempty"`
	// MaxAttempts is how many dial attempts the send may make in all.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// Attempts lists every try, the current or last one included, once a
	// fax has had more than one (a redial or a carrier failover).
	Attempts []DialAttempt `json:"attempts,omitempty"`
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// FromFax converts a domain fax to its wire shape.
func FromFax(f *fax.Fax) Fax {
	w := Fax{
		ID:             f.ID,
		Direction:      string(f.Direction),
		Status:         string(f.Status),
		To:             f.To,
		From:           f.From,
		Provider:       f.Provider,
		ProviderFaxID:  strPtr(f.ProviderFaxID),
		Pages:          f.Pages,
		PagesSent:      f.PagesSent,
		CallbackURL:    strPtr(redactURL(f.CallbackURL)),
		HeaderText:     strPtr(f.HeaderText),
		BatchID:        strPtr(f.BatchID),
		DocumentSHA256: strPtr(f.DocumentSHA256),
		DocumentSize:   f.DocumentSize,
		DocumentPurged: f.DocumentPurged,
		DocumentStatus: string(f.DocumentStatus),
		DocumentError:  f.DocumentError,
		CreatedAt:      Time(f.CreatedAt),
		UpdatedAt:      Time(f.UpdatedAt),
		CompletedAt:    timePtr(f.CompletedAt),

		StationID:       f.Details.StationID,
		CallerID:        f.Details.CallerID,
		DurationSeconds: f.Details.DurationSeconds,
		BitRate:         f.Details.BitRate,
	}
	w.Error = fromFailure(f.Failure)
	w.MaxAttempts = f.MaxAttempts
	if len(f.Attempts) > 0 {
		w.Attempts = attempts(f)
	}
	return w
}

func fromFailure(fl *fax.Failure) *Error {
	if fl == nil {
		return nil
	}
	return &Error{Code: fl.Code, Message: fl.Message, CarrierType: fl.CarrierType, CarrierCode: fl.CarrierCode, CarrierMessage: fl.CarrierMessage}
}

// DialAttempt is one try at sending a fax: through which carrier (and the
// carrier's job id), when it became due and ended, and how it ended:
// "redial" (busy or unanswered, dialed again later), "failover" (the
// carrier did not accept it; the next carrier took over) or, for the
// current or last try, the fax's status.
type DialAttempt struct {
	Number        int     `json:"number"`
	Provider      string  `json:"provider"`
	ProviderFaxID *string `json:"provider_fax_id"`
	StartedAt     string  `json:"started_at"`
	EndedAt       *string `json:"ended_at"`
	Outcome       string  `json:"outcome"`
	Error         *Error  `json:"error"`
	RetryAt       *string `json:"retry_at,omitempty"`
}

// attempts lists f's earlier tries and then its current one.
func attempts(f *fax.Fax) []DialAttempt {
	out := make([]DialAttempt, 0, len(f.Attempts)+1)
	for i := range f.Attempts {
		a := &f.Attempts[i]
		out = append(out, DialAttempt{
			Number: a.Number, Provider: a.Provider, ProviderFaxID: strPtr(a.ProviderFaxID), StartedAt: Time(a.StartedAt),
			EndedAt: timePtr(&a.EndedAt), Outcome: a.Outcome, Error: fromFailure(a.Failure), RetryAt: timePtr(a.RetryAt),
		})
	}
	return append(out, DialAttempt{
		Number: len(f.Attempts) + 1, Provider: f.Provider, ProviderFaxID: strPtr(f.ProviderFaxID), StartedAt: Time(f.AttemptStart()),
		EndedAt: timePtr(f.CompletedAt), Outcome: string(f.Status), Error: fromFailure(f.Failure),
	})
}

// Batch is the answer to a send to several numbers: one fax per number, in
// the order given.
type Batch struct {
	BatchID string `json:"batch_id"`
	Data    []Fax  `json:"data"`
}

// EventData is the "data" of a webhook event: the fax object, plus the page
// for fax.page_sent and the retry count for fax.retry_scheduled; for a
// redial faxgate scheduled, also the number of the attempt to come, why
// the last one ended (its error code) and when the next is due.
type EventData struct {
	Fax
	Page       int     `json:"page,omitempty"`
	RetryCount int     `json:"retry_count,omitempty"`
	Attempt    int     `json:"attempt,omitempty"`
	Reason     string  `json:"reason,omitempty"`
	RetryAt    *string `json:"retry_at,omitempty"`
}

// MarshalEventData freezes the data of an event about f.
func MarshalEventData(f *fax.Fax, page, retry int) (json.RawMessage, error) {
	return json.Marshal(EventData{Fax: FromFax(f), Page: page, RetryCount: retry})
}

// MarshalRetryData freezes the data of a redial's fax.retry_scheduled.
func MarshalRetryData(f *fax.Fax, retry, attempt int, reason string, at time.Time) (json.RawMessage, error) {
	t := Time(at)
	return json.Marshal(EventData{Fax: FromFax(f), RetryCount: retry, Attempt: attempt, Reason: reason, RetryAt: &t})
}

// Event is a fax's timeline entry as the API lists it.
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt string          `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// FromEvent converts a domain event.
func FromEvent(e *fax.Event) Event {
	return Event{ID: e.ID, Type: string(e.Type), CreatedAt: Time(e.CreatedAt), Data: e.Data}
}

// Endpoint is a webhook endpoint; Secret is set only when it is created or
// rotated.
type Endpoint struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Events         []string `json:"events"`
	Inflight       bool     `json:"inflight"`
	Format         string   `json:"format"`
	Numbers        []string `json:"numbers"`
	Description    string   `json:"description"`
	APIVersion     string   `json:"api_version"`
	Enabled        bool     `json:"enabled"`
	DisabledReason string   `json:"disabled_reason,omitempty"`
	Secret         string   `json:"secret,omitempty"`
	CreatedAt      string   `json:"created_at"`
	UpdatedAt      string   `json:"updated_at"`
}

// FromEndpoint converts a domain endpoint without its secret.
func FromEndpoint(e *fax.Endpoint) Endpoint {
	ev := make([]string, 0, len(e.Events))
	for _, t := range e.Events {
		ev = append(ev, string(t))
	}
	nums := e.Numbers
	if nums == nil {
		nums = []string{}
	}
	return Endpoint{
		ID: e.ID, URL: redactURL(e.URL), Events: ev, Inflight: e.Inflight, Format: e.Format,
		Numbers: nums, Description: e.Description, APIVersion: e.APIVersion,
		Enabled: e.Enabled, DisabledReason: e.DisabledReason,
		CreatedAt: Time(e.CreatedAt), UpdatedAt: Time(e.UpdatedAt),
	}
}

// Attempt is one delivery attempt.
type Attempt struct {
	At           string `json:"at"`
	StatusCode   int    `json:"status_code"`
	LatencyMS    int64  `json:"latency_ms"`
	Error        string `json:"error"`
	ResponseBody string `json:"response_body,omitempty"`
}

// Delivery is one event on its way to one endpoint (CONTRACT.md).
type Delivery struct {
	ID            string    `json:"id"`
	EndpointID    string    `json:"endpoint_id"`
	EventID       string    `json:"event_id"`
	EventType     string    `json:"event_type"`
	FaxID         string    `json:"fax_id,omitempty"`
	Status        string    `json:"status"`
	AttemptCount  int       `json:"attempt_count"`
	Attempts      []Attempt `json:"attempts"`
	NextAttemptAt *string   `json:"next_attempt_at"`
	CreatedAt     string    `json:"created_at"`
	UpdatedAt     string    `json:"updated_at"`
}

// FromDelivery converts a domain delivery with the attempts it carries.
func FromDelivery(d *fax.Delivery) Delivery {
	at := make([]Attempt, 0, len(d.Attempts))
	for _, a := range d.Attempts {
		at = append(at, Attempt{At: Time(a.At), StatusCode: a.StatusCode, LatencyMS: a.LatencyMS, Error: a.Error, ResponseBody: a.ResponseBody})
	}
	return Delivery{
		ID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID, EventType: string(d.EventType),
		FaxID: d.FaxID, Status: string(d.Status), AttemptCount: d.AttemptCount, Attempts: at,
		NextAttemptAt: timePtr(d.NextAttemptAt),
		CreatedAt:     Time(d.CreatedAt), UpdatedAt: Time(d.UpdatedAt),
	}
}

// APIKey is an API key; Key is set only when it is created.
type APIKey struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Prefix     string   `json:"prefix"`
	Scopes     []string `json:"scopes"`
	Key        string   `json:"key,omitempty"`
	CreatedAt  string   `json:"created_at"`
	LastUsedAt *string  `json:"last_used_at"`
}

// FromAPIKey converts a domain API key.
func FromAPIKey(k *fax.APIKey) APIKey {
	sc := make([]string, 0, len(k.Scopes))
	for _, s := range k.Scopes {
		sc = append(sc, string(s))
	}
	return APIKey{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: sc, CreatedAt: Time(k.CreatedAt), LastUsedAt: timePtr(k.LastUsedAt)}
}

// List is every list response: {"data":[…],"next_cursor":…}.
type List[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// SMS is a text message as users see it.
type SMS struct {
	ID            string  `json:"id"`
	To            string  `json:"to"`
	TextLength    int     `json:"text_length"`
	Provider      string  `json:"provider"`
	ProviderSMSID *string `json:"provider_sms_id"`
	Status        string  `json:"status"`
	Error         *Error  `json:"error"`
	CreatedAt     string  `json:"created_at"`
	UpdatedAt     string  `json:"updated_at"`
	CompletedAt   *string `json:"completed_at"`
}

// FromSMS converts a domain SMS.
func FromSMS(m *fax.SMS) SMS {
	w := SMS{ID: m.ID, To: m.To, TextLength: m.TextLength, Provider: m.Provider, ProviderSMSID: strPtr(m.ProviderSMSID),
		Status: string(m.Status), CreatedAt: Time(m.CreatedAt), UpdatedAt: Time(m.UpdatedAt), CompletedAt: timePtr(m.CompletedAt)}
	if m.Failure != nil {
		w.Error = &Error{Code: m.Failure.Code, Message: m.Failure.Message, CarrierMessage: m.Failure.CarrierMessage}
	}
	return w
}

// AuditEntry is one record of the audit trail.
type AuditEntry struct {
	ID         string `json:"id"`
	At         string `json:"at"`
	Actor      string `json:"actor"`
	Action     string `json:"action"`
	TargetType string `json:"target_type"`
	TargetID   string `json:"target_id"`
	Outcome    string `json:"outcome"`
	RemoteAddr string `json:"remote_addr"`
	Detail     string `json:"detail"`
}

// FromAudit converts a domain audit entry.
func FromAudit(e *fax.AuditEntry) AuditEntry {
	return AuditEntry{ID: e.ID, At: Time(e.At), Actor: e.Actor, Action: e.Action, TargetType: e.TargetType,
		TargetID: e.TargetID, Outcome: e.Outcome, RemoteAddr: e.RemoteAddr, Detail: e.Detail}
}
