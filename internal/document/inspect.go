package document

// Info describes a document as faxgate accepts it.
type Info struct {
	Type Type
	// Pages is the number of pages the document faxes as, known before
	// anything is sent so that quotas, prices and progress can use it.
	Pages int
	// MIME is the Content-Type to store and serve the document with.
	MIME string
}

// Inspect sniffs b and counts its pages, so that a document faxgate cannot
// send is refused when it is uploaded rather than when the carrier calls.
// PDFs are read and validated with pdfcpu (encrypted ones are refused),
// TIFFs by walking their directories, and text by laying it out as
// TextToPDF would. Errors meant for the user are *fax.Error values.
func Inspect(b []byte) (Info, error) {
	t, err := Sniff(b)
	if err != nil {
		return Info{}, err
	}
	var n int
	switch t {
	case PDF:
		n, err = pdfPageCount(b)
	case TIFF:
		n, err = tiffPageCount(b)
	case Text:
		n = textPages(string(b))
	}
	if err != nil {
		return Info{}, err
	}
	if n > MaxPages {
		return Info{}, errTooManyPages(n)
	}
	return Info{Type: t, Pages: n, MIME: t.MIME()}, nil
}

// PageCount returns the number of pages of b; see Inspect.
func PageCount(b []byte) (int, error) {
	info, err := Inspect(b)
	return info.Pages, err
}

// ToPDF returns b as the PDF faxgate stores: a PDF is checked and returned
// unchanged, text and TIFF are converted. Info describes b as it came in;
// its Pages is also the page count of the PDF.
func ToPDF(b []byte) ([]byte, Info, error) {
	info, err := Inspect(b)
	if err != nil {
		return nil, Info{}, err
	}
	switch info.Type {
	case TIFF:
		pdf, _, err := TIFFToPDF(b)
		if err != nil {
			return nil, Info{}, err
		}
		return pdf, info, nil
	case Text:
		pdf, err := TextToPDF(string(b))
		if err != nil {
			return nil, Info{}, err
		}
		return pdf, info, nil
	}
	return b, info, nil
}
