package fax

import "time"

// SMS is a text message sent through a carrier. Its text is not stored.
type SMS struct {
	ID            string
	To            string
	TextLength    int
	Provider      string
	ProviderSMSID string
	// Status is queued (handed to the carrier), sent or failed.
	Status      Status
	Failure     *Failure
	OwnerKeyID  string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt *time.Time
}

// PrefixSMS starts SMS ids.
const PrefixSMS = "sms_"
