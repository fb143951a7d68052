package carrier

import (
	"context"
	"fmt"

	"github.com/faxgate/faxgate/internal/fax"
)

// CarrierIDFunc returns the carrier's id recorded for faxgate's fax id
// ("" while the carrier has not given one). A fax that does not exist is a
// *fax.Error with code not_found or invalid.
type CarrierIDFunc func(ctx context.Context, faxID string) (string, error)

// BindJob checks that a callback for job_id jobID whose signature did not
// cover the URL names the fax it is about: bodyID, the carrier's id from
// the body, must be the id recorded for jobID. Without it one signed body
// could be replayed to every job_id. Failures are *fax.Error with code
// unauthorized, or unavailable while the fax has no carrier id yet; a
// failing lookup is returned wrapped.
func BindJob(ctx context.Context, lookup CarrierIDFunc, name, jobID, bodyID string) error {
	if bodyID == "" {
		return fax.Errorf(fax.ECodeUnauthorized, "a %s callback signed over its body alone must name its fax (fax.id)", name)
	}
	if lookup == nil || jobID == "" {
		return fax.Errorf(fax.ECodeUnauthorized, "the %s callback's fax.id cannot be checked against job_id", name)
	}
	stored, err := lookup(ctx, jobID)
	switch fax.ErrorCode(err) {
	case "":
	case fax.ECodeNotFound, fax.ECodeInvalid:
		return fax.Errorf(fax.ECodeUnauthorized, "the %s callback's job_id is not a fax", name)
	default:
		return fmt.Errorf("carrier: look up the fax of job_id: %w", err)
	}
	if stored == "" {
		// The carrier called back before faxgate recorded the id its send
		// returned: a carrier retries an unavailable answer, by when the
		// id is there to compare.
		return fax.Errorf(fax.ECodeUnavailable, "the %s id of job_id's fax is not recorded yet; try again shortly", name)
	}
	if stored != bodyID {
		return fax.Errorf(fax.ECodeUnauthorized, "the %s callback's fax.id is not the fax of its job_id", name)
	}
	return nil
}
