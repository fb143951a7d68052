package document

import (
	"fmt"

	"github.com/faxgate/faxgate/internal/fax"
)

// userError returns a *fax.Error for the user that also wraps cause, so that
// logs keep pdfcpu's or the TIFF decoder's own words while the user sees only
// msg. fax.ErrorCode and fax.ErrorMessage find the *fax.Error in the chain.
func userError(code, msg string, cause error) error {
	fe := &fax.Error{Code: code, Message: msg}
	if cause == nil {
		return fe
	}
	return fmt.Errorf("%w (%w)", fe, cause)
}

func errEncrypted() error {
	return fax.Errorf(fax.ECodeUnprocessable, "encrypted PDFs cannot be faxed; remove the password first")
}

func errCorruptPDF(cause error) error {
	return userError(fax.ECodeUnprocessable, "the PDF could not be read: it is damaged or incomplete", cause)
}

func errCorruptTIFF(cause error) error {
	return userError(fax.ECodeUnprocessable, "the TIFF could not be read: it is damaged or incomplete", cause)
}
