package api

import (
	"net/http"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

type simulatorInboundRequest struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Pages int    `json:"pages"`
}

func (s *Server) handleSimulatorInbound(w http.ResponseWriter, r *http.Request) error {
	if s.opts.SimulatorInbound == nil {
		return fax.Errorf(fax.ECodeNotFound, "the simulator carrier is not in use")
	}
	var req simulatorInboundRequest
	if err := decodeJSON(r, 16<<10, &req); err != nil {
		return err
	}
	from, err := fax.ParseNumber(req.From)
	if err != nil {
		return fax.Errorf(fax.ECodeInvalid, "from: %s", fax.ErrorMessage(err))
	}
	to, err := fax.ParseNumber(req.To)
	if err != nil {
		return fax.Errorf(fax.ECodeInvalid, "to: %s", fax.ErrorMessage(err))
	}
	if req.Pages == 0 {
		req.Pages = 1
	}
	if req.Pages < 1 || req.Pages > 100 {
		return fax.Errorf(fax.ECodeInvalid, "pages must be from 1 to 100")
	}
	id, err := s.opts.SimulatorInbound(r.Context(), string(from), string(to), req.Pages)
	if err != nil {
		return err
	}
	f, err := s.opts.Store.FindFaxByID(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, wire.FromFax(f))
	return nil
}
