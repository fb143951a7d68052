package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

// AuditStore keeps the audit trail.
type AuditStore interface {
	RecordAudit(ctx context.Context, e *fax.AuditEntry) error
	FindAudit(ctx context.Context, fl fax.AuditFilter) ([]*fax.AuditEntry, string, error)
}

// audit records who did what to which id, metadata only. A failure to
// record is logged, not returned: the action already happened.
func (s *Server) audit(r *http.Request, action, targetType, targetID string) {
	if s.opts.Audit == nil {
		return
	}
	actor := "anonymous"
	if k := principal(r.Context()); k != nil {
		actor = k.ID
	}
	e := &fax.AuditEntry{At: s.now().UTC(), Actor: actor, Action: action, TargetType: targetType, TargetID: targetID,
		Outcome: "ok", RemoteAddr: r.RemoteAddr, Detail: "request_id=" + RequestID(r.Context())}
	if err := s.opts.Audit.RecordAudit(context.WithoutCancel(r.Context()), e); err != nil {
		s.log.ErrorContext(r.Context(), "audit", "action", action, "err", err)
	}
}

func (s *Server) handleAuditList(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Audit == nil {
		return fax.Errorf(fax.ECodeNotFound, "the audit trail is not available")
	}
	q := r.URL.Query()
	fl := fax.AuditFilter{Action: q.Get("action"), Actor: q.Get("actor"), TargetID: q.Get("target_id"), Cursor: q.Get("cursor")}
	if fl.Cursor != "" && !strings.HasPrefix(fl.Cursor, fax.PrefixAudit) {
		return fax.Errorf(fax.ECodeInvalid, "cursor is not one this API returned")
	}
	for name, p := range map[string]**time.Time{"since": &fl.Since, "until": &fl.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return fax.Errorf(fax.ECodeInvalid, "%s must be an RFC 3339 time such as 2026-11-23T09:00:00Z", name)
			}
			*p = &t
		}
	}
	var err error
	if fl.Limit, err = parseLimit(q.Get("limit")); err != nil {
		return err
	}
	es, next, err := s.opts.Audit.FindAudit(r.Context(), fl)
	if err != nil {
		return err
	}
	out := wire.List[wire.AuditEntry]{Data: make([]wire.AuditEntry, 0, len(es))}
	for _, e := range es {
		out.Data = append(out.Data, wire.FromAudit(e))
	}
	if next != "" {
		out.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
