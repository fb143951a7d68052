package gofax

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/faxgate/faxgate/internal/fax"
)

// testDoc stands for a received document: a little-endian TIFF header and
// some bytes, including ones that encode to '/' and '+' in base64.
func testDoc() []byte {
	return append([]byte("II*\x00\x08\x00\x00\x00"), bytes.Repeat([]byte{0xfb, 0xff, 0xbf, 0x00, 0x10}, 300)...)
}

func TestFileRequest(t *testing.T) {
	p := mustNew(t, testConfig())
	req, err := p.FileRequest(context.Background(), "a/../b?c")
	if err != nil {
		t.Fatal(err)
	}
	if want := "/v1.0/ReceiveFax/a%2F..%2Fb%3Fc/Document"; req.URL.EscapedPath() != want || FilePath("a/../b?c") != want {
		t.Errorf("got path %q, want %q", req.URL.EscapedPath(), want)
	}
	if req.Method != "GET" || req.URL.Query().Get("token") != testAPIToken {
		t.Errorf("got %s %s, want a GET with the first token", req.Method, req.URL.Path)
	}
	for _, id := range []string{"", "has space", strings.Repeat("9", maxIDLen+1)} {
		if _, err := p.FileRequest(context.Background(), id); fax.ErrorCode(err) != fax.ECodeInvalid {
			t.Errorf("FileRequest(%q): got %v, want invalid", id, err)
		}
	}
}

// fileShapes are the ways GoFax's answer may carry doc.
func fileShapes(doc []byte) map[string]string {
	b64 := base64.StdEncoding.EncodeToString(doc)
	jsonStr, _ := json.Marshal(b64)
	var wrapped strings.Builder
	for i := 0; i < len(b64); i += 76 {
		wrapped.WriteString(b64[i:min(i+76, len(b64))] + "\r\n")
	}
	wrappedJSON, _ := json.Marshal(wrapped.String())
	return map[string]string{
		"json string":                      string(jsonStr),
		"json string with escaped slashes": strings.ReplaceAll(string(jsonStr), "/", `\/`),
		"json string wrapped":              string(wrappedJSON),
		"json string with unicode escapes": strings.ReplaceAll(string(jsonStr), "A", `\u0041`),
		"bare base64":                      b64,
		"bare base64 wrapped":              wrapped.String(),
		"bare base64 unpadded":             base64.RawStdEncoding.EncodeToString(doc),
		"json with surrounding space":      "\n  " + string(jsonStr) + "\n",
	}
}

func TestDecodeFile(t *testing.T) {
	doc := testDoc()
	for name, body := range fileShapes(doc) {
		t.Run(name, func(t *testing.T) {
			got, err := io.ReadAll(DecodeFile(iotest.OneByteReader(strings.NewReader(body))))
			if err != nil {
				t.Fatalf("DecodeFile: %v", err)
			}
			if !bytes.Equal(got, doc) {
				t.Errorf("got %d bytes, want the %d-byte document", len(got), len(doc))
			}
		})
	}
}

func TestDecodeFileErrors(t *testing.T) {
	for name, body := range map[string]string{
		"html page":           "<html>maintenance</html>",
		"text":                "Service temporarily unavailable",
		"json object":         `{"Message":"An error has occurred."}`,
		"json array":          `["SUkq"]`,
		"unterminated string": `"SUkqAA`,
		"after the string":    `"SUkqAAgAAAA=" x`,
		"data after padding":  "SUk=SUkq",
		"quote escape":        `"SUkq\"AAgA"`,
		"wide unicode escape": `"SUkq\u00e9AAgA"`,
		"a lone symbol":       "SUkqA",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := io.ReadAll(DecodeFile(strings.NewReader(body)))
			if fax.ErrorCode(err) != fax.ECodeUnsupportedType {
				t.Errorf("got %v, want unsupported_type", err)
			}
		})
	}
	// A download cut off is not the answer's fault: its error comes through.
	cut := io.MultiReader(strings.NewReader(`"SUkqAAgA`), iotest.ErrReader(io.ErrUnexpectedEOF))
	if _, err := io.ReadAll(DecodeFile(cut)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut off: got %v, want io.ErrUnexpectedEOF", err)
	}
}
