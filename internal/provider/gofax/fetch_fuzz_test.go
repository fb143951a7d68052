package gofax

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"testing"
)

// referenceDecode is the buffered decoder DecodeFile replaced, kept as its
// specification: what it accepted DecodeFile must accept, giving the same
// bytes.
func referenceDecode(raw []byte) ([]byte, bool) {
	text := bytes.Trim(raw, " \t\r\n")
	if len(text) > 0 && text[0] == '"' {
		var s string
		if json.Unmarshal(text, &s) != nil {
			return nil, false
		}
		text = bytes.Trim([]byte(s), " \t\r\n")
	} else if len(text) > 0 && (text[0] == '{' || text[0] == '[') {
		return nil, false
	}
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		doc := make([]byte, e.DecodedLen(len(text)))
		if n, err := e.Decode(doc, text); err == nil {
			return doc[:n], n > 0
		}
	}
	return nil, false
}

// FuzzDecodeFile checks the streaming decoder of GoFax's document answers
// against the buffered standard-library one, and that every shape GoFax
// may send decodes back to the document.
func FuzzDecodeFile(f *testing.F) {
	f.Add([]byte(`"SUkqAAgAAAA="`))
	f.Add([]byte("SUkqAAgAAAA"))
	f.Add([]byte("SUkq\r\nAAgA\r\nAAA=\r\n"))
	f.Add([]byte(`"SUkq\/AAgAAAA="`))
	f.Add([]byte(`"SUkq\u0041AgAAAA="`))
	f.Add([]byte(`{"x":1}`))
	f.Add([]byte("<html>maintenance</html>"))
	f.Add([]byte(`"\u0000"`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := io.ReadAll(DecodeFile(bytes.NewReader(raw)))
		if len(got) > len(raw)*3/4+3 {
			t.Fatalf("got %d bytes from %d", len(got), len(raw))
		}
		if want, ok := referenceDecode(raw); ok && (err != nil || !bytes.Equal(got, want)) {
			t.Fatalf("got %d bytes, %v; the standard decoder gives %d bytes", len(got), err, len(want))
		}
		for name, body := range fileShapes(raw) {
			doc, err := io.ReadAll(DecodeFile(bytes.NewReader([]byte(body))))
			if err != nil || !bytes.Equal(doc, raw) {
				t.Fatalf("%s: got %d bytes, %v; want the %d bytes back", name, len(doc), err, len(raw))
			}
		}
	})
}
