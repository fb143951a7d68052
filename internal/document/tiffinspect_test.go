package document

import "testing"

// FuzzInspectTIFF: any bytes walk without panic, within MaxPages, and a
// TIFF that converts also inspects, with as many pages.
func FuzzInspectTIFF(f *testing.F) {
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x00\x00\x03\x00\x00\x00\x01\x06\xc0\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("II*\x00\x08\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pages, err := InspectTIFF(b)
		if err == nil && (len(pages) == 0 || len(pages) > MaxPages) {
			t.Fatalf("got %d pages without an error", len(pages))
		}
		if conv, cerr := parseTIFF(b, tiffLimits{pagePixels: 1 << 16, totalPixels: 1 << 20}); cerr == nil && (err != nil || len(conv) != len(pages)) {
			t.Fatalf("parseTIFF found %d pages, InspectTIFF %d (%v)", len(conv), len(pages), err)
		}
	})
}
