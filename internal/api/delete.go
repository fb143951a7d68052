package api

import (
	"net/http"

	"github.com/faxgate/faxgate/internal/workflow"
)

// handleFaxDocumentDelete purges a fax's document as retention does: the
// blob first, then the mark, so that a crash in between leaves a fax the
// next call (or retention) finishes. A second call finds it purged.
func (s *Server) handleFaxDocumentDelete(w http.ResponseWriter, r *http.Request) error {
	f, err := s.findFax(r)
	if err != nil {
		return err
	}
	if !f.DocumentPurged {
		// A fax still being sent needs its document.
		if err := workflow.CheckDeletable(f); err != nil {
			return err
		}
		if f.DocumentKey != "" {
			if err := s.opts.Blobs.Delete(r.Context(), f.DocumentKey); err != nil {
				return err
			}
		}
		if err := s.opts.Store.MarkDocumentPurged(r.Context(), f.ID); err != nil {
			return err
		}
	}
	s.audit(r, "document.delete", "fax", f.ID)
	s.log.InfoContext(r.Context(), "fax document deleted", "fax_id", f.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleFaxDelete removes a final fax's record, then its document: a blob
// left by a crash in between belongs to no fax and the orphan sweep
// removes it. The audit entry names only the fax's id, never its numbers.
func (s *Server) handleFaxDelete(w http.ResponseWriter, r *http.Request) error {
	f, err := s.findFax(r)
	if err != nil {
		return err
	}
	f, err = s.opts.Store.DeleteFax(r.Context(), f.ID)
	if err != nil {
		return err
	}
	if f.DocumentKey != "" && !f.DocumentPurged {
		if err := s.opts.Blobs.Delete(r.Context(), f.DocumentKey); err != nil {
			s.log.WarnContext(r.Context(), "delete fax document", "fax_id", f.ID, "err", err)
		}
	}
	s.audit(r, "fax.delete", "fax", f.ID)
	s.log.InfoContext(r.Context(), "fax deleted", "fax_id", f.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
