package document

import (
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Type
		code string
	}{
		{"pdf", "%PDF-1.7\n%âãÏÓ\n1 0 obj", PDF, ""},
		{"pdf after junk", strings.Repeat("\x00", 1000) + "%PDF-1.4\n", PDF, ""},
		{"pdf header too late", strings.Repeat("x", 1030) + "%PDF-1.4\n", Text, ""},
		{"tiff little-endian", "II*\x00\x08\x00\x00\x00", TIFF, ""},
		{"tiff big-endian", "MM\x00*\x00\x00\x00\x08", TIFF, ""},
		{"text", "Hello, fax.\n", Text, ""},
		{"text with tab, crlf and form feed", "a\tb\r\nc\fd", Text, ""},
		{"utf-8 text", "Grüße aus Köln — 日本語\n", Text, ""},
		{"utf-8 text with bom", "\ufeffDear Sir,\n", Text, ""},
		{"angle bracket mid-text", "if a <b> c\n", Text, ""},
		{"single character", "x", Text, ""},
		{"empty", "", "", fax.ECodeInvalid},
		{"png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "", fax.ECodeUnsupportedType},
		{"jpeg", "\xff\xd8\xff\xe0\x00\x10JFIF", "", fax.ECodeUnsupportedType},
		{"gif", "GIF89a\x01\x00\x01\x00", "", fax.ECodeUnsupportedType},
		{"zip", "PK\x03\x04\x14\x00\x00\x00", "", fax.ECodeUnsupportedType},
		{"docx", "PK\x03\x04\x14\x00\x06\x00[Content_Types].xml", "", fax.ECodeUnsupportedType},
		{"bigtiff", "II+\x00\x08\x00\x00\x00", "", fax.ECodeUnsupportedType},
		{"html", "<!DOCTYPE html>\n<html><body>hi</body></html>", "", fax.ECodeUnsupportedType},
		{"html lower case after space", "\n  <html lang=\"en\">", "", fax.ECodeUnsupportedType},
		{"html fragment", "<p>Dear Sir</p>", "", fax.ECodeUnsupportedType},
		{"html comment", "<!-- saved from url -->\n<html>", "", fax.ECodeUnsupportedType},
		{"xml", "<?xml version=\"1.0\"?><a/>", "", fax.ECodeUnsupportedType},
		{"svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>", "", fax.ECodeUnsupportedType},
		{"rtf", "{\\rtf1\\ansi hello}", "", fax.ECodeUnsupportedType},
		{"postscript", "%!PS-Adobe-3.0\n", "", fax.ECodeUnsupportedType},
		{"nul byte", "hello\x00world", "", fax.ECodeUnsupportedType},
		{"escape sequence", "\x1b[31mred\x1b[0m", "", fax.ECodeUnsupportedType},
		{"latin-1", "caf\xe9\n", "", fax.ECodeUnsupportedType},
		{"utf-16", "\xff\xfeH\x00i\x00", "", fax.ECodeUnsupportedType},
		{"c1 control", "a\u0085b", "", fax.ECodeUnsupportedType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Sniff([]byte(tt.in))
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSniffMessage(t *testing.T) {
	_, err := Sniff([]byte("\x89PNG\r\n\x1a\n"))
	if got, want := fax.ErrorMessage(err), "unsupported document type; send PDF, TIFF or plain text"; got != want {
		t.Fatalf("got message %q, want %q", got, want)
	}
}

func TestTypeMIME(t *testing.T) {
	tests := []struct {
		t    Type
		want string
	}{
		{PDF, "application/pdf"},
		{TIFF, "image/tiff"},
		{Text, "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		if got := tt.t.MIME(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.t, got, tt.want)
		}
	}
}
