package document

import (
	"strings"
	"testing"
)

func BenchmarkInspectPDF(b *testing.B) {
	pdf := mustTextPDF(b, 20)
	b.SetBytes(int64(len(pdf)))
	for b.Loop() {
		if _, err := Inspect(pdf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInspectPDFOptimized(b *testing.B) {
	pdf := pdfcpuOptimized(b, mustTextPDF(b, 20))
	b.SetBytes(int64(len(pdf)))
	for b.Loop() {
		if _, err := Inspect(pdf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInspectTIFF(b *testing.B) {
	tif := mustRead(b, "fax-g4-fine-2p.tif")
	for b.Loop() {
		if _, err := Inspect(tif); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTextToPDF(b *testing.B) {
	text := strings.Repeat(lines(textRows)+"\f", 100)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := TextToPDF(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTextToPDFMaxPages(b *testing.B) {
	text := strings.Repeat("\f", MaxPages-1)
	for b.Loop() {
		if _, err := TextToPDF(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTIFFToPDF(b *testing.B) {
	for _, file := range []string{"fax-g4-fine-2p.tif", "fax-g3-2d-fill-lsb-2p.tif"} {
		b.Run(file, func(b *testing.B) {
			tif := mustRead(b, file)
			b.SetBytes(int64(len(tif)))
			for b.Loop() {
				if _, _, err := TIFFToPDF(tif); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
