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
	CreatedAt      string  `json:"created_at"`
	UpdatedAt      string  `json:"updated_at"`
	CompletedAt    *string `json:"completed_at"`
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
		CreatedAt:      Time(f.CreatedAt),
		UpdatedAt:      Time(f.UpdatedAt),
		CompletedAt:    timePtr(f.CompletedAt),
	}
	if f.Failure != nil {
		w.Error = &Error{
			Code:           f.Failure.Code,
			Message:        f.Failure.Message,
			CarrierType:    f.Failure.CarrierType,
			CarrierCode:    f.Failure.CarrierCode,
			CarrierMessage: f.Failure.CarrierMessage,
		}
	}
	return w
}

// Batch is the answer to a send to several numbers: one fax per number, in
// the order given.
type Batch struct {
	BatchID string `json:"batch_id"`
	Data    []Fax  `json:"data"`
}

// EventData is the "data" of a webhook event: the fax object, plus the page
// for fax.page_sent and the retry count for fax.retry_scheduled.
type EventData struct {
	Fax
	Page       int `json:"page,omitempty"`
	RetryCount int `json:"retry_count,omitempty"`
}

// MarshalEventData freezes the data of an event about f.
func MarshalEventData(f *fax.Fax, page, retry int) (json.RawMessage, error) {
	return json.Marshal(EventData{Fax: FromFax(f), Page: page, RetryCount: retry})
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
