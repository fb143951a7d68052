package asterisk

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/faxgate/faxgate/internal/document"
)

func TestInspectTIFF(t *testing.T) {
	doc := faxTIFF(3, 1728, 64, compressionG4)
	pg, err := document.InspectTIFF(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) != 3 {
		t.Fatalf("got %d pages, want 3", len(pg))
	}
	want := document.TIFFPage{Width: 1728, Height: 64, Compression: compressionG4, BitsPerSample: 1, SamplesPerPixel: 1, XDPI: 204, YDPI: 196}
	for i, p := range pg {
		if p != want {
			t.Errorf("page %d: got %+v, want %+v", i+1, p, want)
		}
	}
	if !faxReady(pg) {
		t.Errorf("a G4 fax TIFF is not fax-ready")
	}
}

func TestInspectTIFFBroken(t *testing.T) {
	good := faxTIFF(2, 1728, 64, compressionG4)
	first := int(binary.LittleEndian.Uint32(good[4:]))
	loop := bytes.Clone(good)
	// The first IFD's next pointer points back at itself.
	n := int(binary.LittleEndian.Uint16(loop[first:]))
	binary.LittleEndian.PutUint32(loop[first+2+n*12:], uint32(first))
	outside := bytes.Clone(good)
	binary.LittleEndian.PutUint32(outside[4:], uint32(len(good)+100))
	huge := bytes.Clone(good)
	binary.LittleEndian.PutUint16(huge[first:], 60000)
	bigTIFF := []byte("II+\x00\x08\x00\x00\x00")
	tests := map[string][]byte{
		"empty":        nil,
		"not tiff":     []byte("%PDF-1.4 and more"),
		"bigtiff":      bigTIFF,
		"loop":         loop,
		"outside":      outside,
		"huge ifd":     huge,
		"truncated":    good[:len(good)-10],
		"header only":  good[:8],
		"no next page": append([]byte("MM\x00*"), 0, 0, 0, 0),
	}
	for name, doc := range tests {
		if _, err := document.InspectTIFF(doc); err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
}

func TestFaxReady(t *testing.T) {
	base := document.TIFFPage{Width: 1728, Height: 2156, Compression: compressionG4, BitsPerSample: 1, SamplesPerPixel: 1, XDPI: 204, YDPI: 196}
	tests := []struct {
		name string
		edit func(*document.TIFFPage)
		want bool
	}{
		{"g4 fine", func(*document.TIFFPage) {}, true},
		{"g3 normal", func(p *document.TIFFPage) { p.Compression, p.YDPI = compressionG3, 98 }, true},
		{"b4 width", func(p *document.TIFFPage) { p.Width = 2048 }, true},
		{"lzw", func(p *document.TIFFPage) { p.Compression = 5 }, false},
		{"grey", func(p *document.TIFFPage) { p.BitsPerSample = 8 }, false},
		{"scanner width", func(p *document.TIFFPage) { p.Width = 2550 }, false},
		{"300 dpi", func(p *document.TIFFPage) { p.XDPI = 300 }, false},
		{"no resolution", func(p *document.TIFFPage) { p.XDPI, p.YDPI = 0, 0 }, false},
	}
	for _, tt := range tests {
		p := base
		tt.edit(&p)
		if got := faxReady([]document.TIFFPage{base, p}); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	if faxReady(nil) {
		t.Errorf("no pages: got ready")
	}
}

// FuzzInspectTIFF walks arbitrary bytes as a TIFF: no panic, no endless
// loop, and never more pages than the bound.
func FuzzInspectTIFF(f *testing.F) {
	f.Add(faxTIFF(1, 1728, 64, compressionG4))
	f.Add(faxTIFF(2, 1728, 8, compressionG3))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x00\x00\x03\x00\x00\x00\x01\x06\xc0\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("II*\x00\x08\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pg, err := document.InspectTIFF(data)
		if err == nil && (len(pg) == 0 || len(pg) > maxPages) {
			t.Fatalf("got %d pages without an error", len(pg))
		}
		_ = faxReady(pg)
	})
}
