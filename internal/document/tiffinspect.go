package document

import "errors"

// TIFFPage is what a TIFF's directory says of one page. Resolutions are in
// dots per inch, 0 when the file does not say.
type TIFFPage struct {
	Width, Height   int64
	Compression     int64 // 1 none, 3 CCITT G3, 4 CCITT G4, …
	BitsPerSample   int64
	SamplesPerPixel int64
	XDPI, YDPI      float64
}

// InspectTIFF walks the pages of the TIFF b and reports what each says of
// itself, without decoding image data or judging whether faxgate could
// convert it: it is the one TIFF reader, shared with the Asterisk carrier,
// which asks whether a page is a fax image as it is. Bounded like
// parseTIFF (walkTIFF): loops, offsets outside b and more than MaxPages
// pages are errors.
func InspectTIFF(b []byte) ([]TIFFPage, error) {
	var pages []TIFFPage
	err := walkTIFF(b, func(p tiffPage) error {
		pages = append(pages, TIFFPage{Width: p.width, Height: p.height, Compression: p.compression,
			BitsPerSample: p.bitsPerSample, SamplesPerPixel: p.samplesPerPixel, XDPI: p.xdpi, YDPI: p.ydpi})
		if len(pages) > MaxPages {
			return errTooManyPages(len(pages))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(pages) == 0 {
		return nil, errCorruptTIFF(errors.New("document: tiff has no pages"))
	}
	return pages, nil
}
