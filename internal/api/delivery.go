package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

func (s *Server) handleDeliveryList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	fl := fax.DeliveryFilter{
		EndpointID: q.Get("endpoint_id"), EventID: q.Get("event_id"), FaxID: q.Get("fax_id"),
		Status: fax.DeliveryStatus(q.Get("status")), EventType: fax.EventType(q.Get("event_type")), Cursor: q.Get("cursor"),
	}
	if fl.Status != "" && !fl.Status.Valid() {
		return fax.Errorf(fax.ECodeInvalid, "status must be pending, succeeded or failed")
	}
	if fl.EventType != "" && !fl.EventType.Valid() {
		return fax.Errorf(fax.ECodeInvalid, "event_type %q is not an event type this API sends", truncate(string(fl.EventType), 64))
	}
	if fl.Cursor != "" && !strings.HasPrefix(fl.Cursor, fax.PrefixDelivery) {
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
	ds, next, err := s.opts.Store.FindDeliveries(r.Context(), fl)
	if err != nil {
		return err
	}
	out := wire.List[wire.Delivery]{Data: make([]wire.Delivery, 0, len(ds))}
	for _, d := range ds {
		out.Data = append(out.Data, wire.FromDelivery(d))
	}
	if next != "" {
		out.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func deliveryID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !strings.HasPrefix(id, fax.PrefixDelivery) || len(id) > 64 {
		return "", fax.Errorf(fax.ECodeNotFound, "delivery %q not found", truncate(id, 64))
	}
	return id, nil
}

func (s *Server) handleDeliveryGet(w http.ResponseWriter, r *http.Request) error {
	id, err := deliveryID(r)
	if err != nil {
		return err
	}
	d, err := s.opts.Store.FindDeliveryByID(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.FromDelivery(d))
	return nil
}

func (s *Server) handleDeliveryRetry(w http.ResponseWriter, r *http.Request) error {
	id, err := deliveryID(r)
	if err != nil {
		return err
	}
	d, err := s.opts.Store.RetryDelivery(r.Context(), id)
	if err != nil {
		return err
	}
	s.audit(r, "delivery.retry", "delivery", d.ID)
	s.log.InfoContext(r.Context(), "delivery retried by hand", "delivery_id", d.ID, "endpoint_id", d.EndpointID)
	writeJSON(w, http.StatusAccepted, wire.FromDelivery(d))
	return nil
}
