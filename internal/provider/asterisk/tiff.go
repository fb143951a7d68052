package asterisk

import (
	"os"

	"github.com/faxgate/faxgate/internal/document"
)

// The CCITT compressions SendFAX sends as they are.
const (
	compressionG3 = 3 // CCITT T.4
	compressionG4 = 4 // CCITT T.6
)

// tiffPages counts the pages of the TIFF at path with the one TIFF reader
// (document.InspectTIFF).
func tiffPages(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pg, err := document.InspectTIFF(b)
	if err != nil {
		return 0, err
	}
	return len(pg), nil
}

// faxReady reports whether every page is an image SendFAX takes as it is:
// CCITT G3 or G4, one bit per pixel, a fax line width (1728 dots, or 2048 /
// 2432 for B4 / A3) at about 204 dpi across and 98 to 400 lines per inch.
// Anything else is rendered again.
func faxReady(pages []document.TIFFPage) bool {
	for _, p := range pages {
		switch {
		case p.Compression != compressionG3 && p.Compression != compressionG4:
			return false
		case p.BitsPerSample != 1 || p.SamplesPerPixel != 1:
			return false
		case p.Width != 1728 && p.Width != 2048 && p.Width != 2432:
			return false
		case p.XDPI < 195 || p.XDPI > 210:
			return false
		case p.YDPI < 95 || p.YDPI > 410:
			return false
		case p.Height == 0:
			return false
		}
	}
	return len(pages) > 0
}
