package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
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
	var c *fax.SMS
	err := s.write(ctx, func(tx *wtx) error {
		c = workflow.NewSMS(&s.ids, m, s.now().UTC())
		_, err := tx.Exec(`INSERT INTO sms (`+smsColumns+`) VALUES (?, ?, ?, ?, '', ?, NULL, ?, ?, ?, NULL)`,
			c.ID, c.To, c.TextLength, c.Provider, c.Status, c.OwnerKeyID, ms(c.CreatedAt), ms(c.UpdatedAt))
		if err != nil {
			return fmt.Errorf("sqlite: create sms: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
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

// applySMSTx loads the SMS an update names (by faxgate's id or the
// carrier's, of the update's carrier) and saves what the workflow decides.
func (s *Store) applySMSTx(tx *wtx, u *fax.Update, now time.Time) (workflow.Change, error) {
	var m *fax.SMS
	var err error
	switch {
	case u.FaxID != "":
		m, err = scanSMS(tx.QueryRow(`SELECT `+smsColumns+` FROM sms WHERE id = ? AND provider = ?`, u.FaxID, u.Provider))
	case u.ProviderFaxID != "":
		m, err = scanSMS(tx.QueryRow(`SELECT `+smsColumns+` FROM sms WHERE provider = ? AND provider_sms_id = ?`, u.Provider, u.ProviderFaxID))
	}
	if errors.Is(err, sql.ErrNoRows) {
		m, err = nil, nil
	}
	if err != nil {
		return workflow.Change{}, fmt.Errorf("sqlite: apply sms: %w", err)
	}
	c, err := workflow.ApplyToSMS(&s.ids, m, u, now)
	if err != nil || !c.Save {
		return c, err
	}
	if _, err := tx.Exec(`UPDATE sms SET status = ?, provider_sms_id = ?, failure = ?, updated_at = ?, completed_at = ? WHERE id = ?`,
		m.Status, m.ProviderSMSID, failureJSON(m.Failure), ms(m.UpdatedAt), msPtr(m.CompletedAt), m.ID); err != nil {
		return c, fmt.Errorf("sqlite: apply sms: %w", err)
	}
	return c, s.insertEvents(tx, nil, c.Events, now)
}
