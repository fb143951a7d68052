package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
	"github.com/jackc/pgx/v5"
)

const smsColumns = `id, to_number, text_length, provider, provider_sms_id, status, failure, owner_key_id, created_at, updated_at, completed_at`

func scanSMS(row scanner) (*fax.SMS, error) {
	var m fax.SMS
	var failure *string
	var created, updated int64
	var completed *int64
	if err := row.Scan(&m.ID, &m.To, &m.TextLength, &m.Provider, &m.ProviderSMSID, &m.Status, &failure, &m.OwnerKeyID,
		&created, &updated, &completed); err != nil {
		return nil, err
	}
	if failure != nil && *failure != "" {
		var fl fax.Failure
		if err := json.Unmarshal([]byte(*failure), &fl); err != nil {
			return nil, fmt.Errorf("postgres: sms %s failure: %w", m.ID, err)
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
		tx.queue(`INSERT INTO sms (`+smsColumns+`) VALUES ($1, $2, $3, $4, '', $5, NULL, $6, $7, $8, NULL)`,
			c.ID, c.To, c.TextLength, c.Provider, c.Status, c.OwnerKeyID, ms(c.CreatedAt), ms(c.UpdatedAt))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// FindSMSByID returns one SMS or not_found.
func (s *Store) FindSMSByID(ctx context.Context, id string) (*fax.SMS, error) {
	m, err := scanSMS(s.pool.QueryRow(ctx, `SELECT `+smsColumns+` FROM sms WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fax.Errorf(fax.ECodeNotFound, "SMS %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: find sms: %w", err)
	}
	return m, nil
}

// MarkSMSHanded records the carrier's id for an SMS it accepted.
func (s *Store) MarkSMSHanded(ctx context.Context, id, providerSMSID string) error {
	return s.write(ctx, func(tx *wtx) error {
		tx.queue(`UPDATE sms SET provider_sms_id = $1, updated_at = $2 WHERE id = $3 AND provider_sms_id = ''`, providerSMSID, ms(s.now()), id)
		return nil
	})
}

// queueMatchSMS queues the query that finds and locks the SMS an update
// is about, by faxgate's id or the carrier's; *m stays nil when none
// matches, as for an update naming neither.
func queueMatchSMS(tx *wtx, u *fax.Update, m **fax.SMS) {
	var found bool
	scan := func(row pgx.Row) (err error) {
		*m, err = scanSMS(row)
		return err
	}
	switch {
	case u.FaxID != "":
		tx.queueRow(&found, scan, `SELECT `+smsColumns+` FROM sms WHERE id = $1 AND provider = $2 FOR UPDATE`, u.FaxID, u.Provider)
	case u.ProviderFaxID != "":
		tx.queueRow(&found, scan, `SELECT `+smsColumns+` FROM sms WHERE provider = $1 AND provider_sms_id = $2 ORDER BY id LIMIT 1 FOR UPDATE`,
			u.Provider, u.ProviderFaxID)
	}
}

// applySMSTx queues the save of what the workflow decides about the SMS m
// (locked, nil when none matched), its event routed among endpoints.
func (s *Store) applySMSTx(tx *wtx, u *fax.Update, m *fax.SMS, endpoints []*fax.Endpoint, now time.Time) (workflow.Change, error) {
	c, err := workflow.ApplyToSMS(&s.ids, m, u, now)
	if err != nil || !c.Save {
		return c, err
	}
	tx.queue(`UPDATE sms SET status = $1, provider_sms_id = $2, failure = $3, updated_at = $4, completed_at = $5 WHERE id = $6`,
		m.Status, m.ProviderSMSID, failureJSON(m.Failure), ms(m.UpdatedAt), msPtr(m.CompletedAt), m.ID)
	s.insertEvents(tx, nil, c.Events, endpoints, now)
	return c, nil
}
