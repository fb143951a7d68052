package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

const smsColumns = `id, to_number, text_length, provider, provider_sms_id, status, failure, owner_key_id, created_at, updated_at, completed_at`

func scanSMS(row scanner) (*fax.SMS, error) {
	var m fax.SMS
	var failure sql.NullString
	var created, updated int64
	var completed sql.NullInt64
	if err := row.Scan(&m.ID, &m.To, &m.TextLength, &m.Provider, &m.ProviderSMSID, &m.Status, &failure, &m.OwnerKeyID,
		&created, &updated, &completed); err != nil {
		return nil, err
	}
	if failure.Valid && failure.String != "" {
		var fl fax.Failure
		if err := json.Unmarshal([]byte(failure.String), &fl); err != nil {
			return nil, fmt.Errorf("sqlite: sms %s failure: %w", m.ID, err)
		}
		m.Failure = &fl
	}
	m.CreatedAt, m.UpdatedAt, m.CompletedAt = fromMS(created), fromMS(updated), fromNullMS(completed)
	return &m, nil
}

// CreateSMS records an SMS about to be handed to its carrier, as queued.
func (s *Store) CreateSMS(ctx context.Context, m *fax.SMS) (*fax.SMS, error) {
	c := *m
	err := s.write(ctx, func(tx *wtx) error {
		now := s.now().UTC()
		c.ID = s.ids.New(fax.PrefixSMS, now)
		c.Status, c.CreatedAt, c.UpdatedAt = fax.StatusQueued, now, now
		_, err := tx.Exec(`INSERT INTO sms (`+smsColumns+`) VALUES (?, ?, ?, ?, '', ?, NULL, ?, ?, ?, NULL)`,
			c.ID, c.To, c.TextLength, c.Provider, c.Status, c.OwnerKeyID, ms(now), ms(now))
		if err != nil {
			return fmt.Errorf("sqlite: create sms: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// FindSMSByID returns one SMS or not_found.
func (s *Store) FindSMSByID(ctx context.Context, id string) (*fax.SMS, error) {
	m, err := scanSMS(s.rdb.QueryRowContext(ctx, `SELECT `+smsColumns+` FROM sms WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fax.Errorf(fax.ECodeNotFound, "SMS %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: find sms: %w", err)
	}
	return m, nil
}

// MarkSMSHanded records the carrier's id for an SMS it accepted.
func (s *Store) MarkSMSHanded(ctx context.Context, id, providerSMSID string) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`UPDATE sms SET provider_sms_id = ?, updated_at = ? WHERE id = ? AND provider_sms_id = ''`, providerSMSID, ms(s.now()), id)
		if err != nil {
			return fmt.Errorf("sqlite: sms handed: %w", err)
		}
		return nil
	})
}

// applySMSTx moves an SMS to its final status, with its sms.sent or
// sms.failed event to the global endpoints. A final SMS never changes.
func (s *Store) applySMSTx(tx *wtx, u *fax.Update, now time.Time) (fax.ApplyResult, error) {
	var res fax.ApplyResult
	var m *fax.SMS
	var err error
	switch {
	case u.FaxID != "":
		m, err = scanSMS(tx.QueryRow(`SELECT `+smsColumns+` FROM sms WHERE id = ? AND provider = ?`, u.FaxID, u.Provider))
	case u.ProviderFaxID != "":
		m, err = scanSMS(tx.QueryRow(`SELECT `+smsColumns+` FROM sms WHERE provider = ? AND provider_sms_id = ?`, u.Provider, u.ProviderFaxID))
	default:
		res.Unknown = true
		return res, nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		res.Unknown = true
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("sqlite: apply sms: %w", err)
	}
	if u.NamesOther(m.ProviderSMSID) {
		res.Unknown = true
		return res, nil
	}
	res.FaxID = m.ID
	if m.Status.Final() || (u.Status != fax.StatusSent && u.Status != fax.StatusFailed) {
		res.Stale = true
		return res, nil
	}
	m.Status, m.UpdatedAt, m.CompletedAt = u.Status, now, &now
	if m.ProviderSMSID == "" {
		m.ProviderSMSID = u.ProviderFaxID
	}
	evType := fax.EventSMSSent
	if u.Status == fax.StatusFailed {
		evType = fax.EventSMSFailed
		m.Failure = failureOrDefaultSMS(u.Failure)
	}
	if _, err := tx.Exec(`UPDATE sms SET status = ?, provider_sms_id = ?, failure = ?, updated_at = ?, completed_at = ? WHERE id = ?`,
		m.Status, m.ProviderSMSID, failureJSON(m.Failure), ms(now), ms(now), m.ID); err != nil {
		return res, fmt.Errorf("sqlite: apply sms: %w", err)
	}
	data, err := json.Marshal(wire.FromSMS(m))
	if err != nil {
		return res, fmt.Errorf("sqlite: sms event: %w", err)
	}
	ev := fax.Event{ID: s.ids.New(fax.PrefixEvent, now), Type: evType, FaxID: m.ID, CreatedAt: now, Data: data}
	if _, err := tx.Exec(`INSERT INTO events (id, fax_id, type, created_at, data) VALUES (?, ?, ?, ?, ?)`, ev.ID, ev.FaxID, ev.Type, ms(now), data); err != nil {
		return res, fmt.Errorf("sqlite: sms event: %w", err)
	}
	eps, err := s.routableEndpoints(tx, "")
	if err != nil {
		return res, err
	}
	for _, e := range fax.Route(evType, nil, eps) {
		if err := s.insertDelivery(tx, e.ID, &ev, now); err != nil {
			return res, err
		}
	}
	res.Applied, res.Events = true, []string{ev.ID}
	return res, nil
}

func failureOrDefaultSMS(fl *fax.Failure) *fax.Failure {
	if fl == nil {
		return &fax.Failure{Code: fax.FailCarrier, Message: "the carrier reported the SMS as not delivered"}
	}
	return fl
}
