package email

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Attachment is a file attached to an email.
type Attachment struct {
	// Name is the file name the recipient sees; path separators and control
	// characters are dropped. Default: "attachment".
	Name string
	// ContentType is the file's MIME type. Default: application/octet-stream.
	ContentType string
	Data        []byte
}

// maxSubject bounds the subject, in runes.
const maxSubject = 250

// base64Line is the length of a base64 line: RFC 2045's limit.
const base64Line = 76

// header is one message header, in order.
type header struct{ name, value string }

// buildMessage renders the whole message: headers and a MIME body with CRLF
// line endings, 7-bit clean (quoted-printable text, base64 attachments), so
// any relay carries it unchanged. The body is multipart/alternative (text,
// then HTML, the preferred one last) when there is HTML, and wrapped in
// multipart/mixed with the attachments when there are any. Dot-stuffing is
// the SMTP client's job, not this one's.
func buildMessage(from string, to []string, subject, text, html string, atts []Attachment, date time.Time, msgID string) ([]byte, error) {
	var b bytes.Buffer
	headers := []header{
		{"From", from},
		{"To", strings.Join(to, ",\r\n ")},
		{"Subject", encodeSubject(subject)},
		{"Date", date.Format(time.RFC1123Z)},
		{"Message-ID", msgID},
		{"MIME-Version", "1.0"},
	}
	for _, h := range headers {
		b.WriteString(h.name)
		b.WriteString(": ")
		b.WriteString(h.value)
		b.WriteString("\r\n")
	}

	if len(atts) == 0 {
		if err := writeAlternative(&b, nil, text, html); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	mixed := multipart.NewWriter(&b)
	b.WriteString("Content-Type: " + mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": mixed.Boundary()}) + "\r\n\r\n")
	if err := writeAlternative(&b, mixed, text, html); err != nil {
		return nil, err
	}
	for _, a := range atts {
		if err := writeAttachment(mixed, a); err != nil {
			return nil, err
		}
	}
	if err := mixed.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeAlternative writes the text and HTML bodies: as the top-level body
// when parent is nil (its Content-Type header goes straight into b), else as
// a part of parent.
func writeAlternative(b *bytes.Buffer, parent *multipart.Writer, text, html string) error {
	if html == "" {
		return writeText(b, parent, "text/plain", text)
	}
	var alt *multipart.Writer
	if parent == nil {
		alt = multipart.NewWriter(b)
		b.WriteString("Content-Type: " + mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": alt.Boundary()}) + "\r\n\r\n")
	} else {
		boundary := multipart.NewWriter(nil).Boundary()
		w, err := parent.CreatePart(textproto.MIMEHeader{
			"Content-Type": {mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": boundary})},
		})
		if err != nil {
			return err
		}
		alt = multipart.NewWriter(w)
		if err := alt.SetBoundary(boundary); err != nil {
			return err
		}
	}
	if err := writeText(nil, alt, "text/plain", text); err != nil {
		return err
	}
	if err := writeText(nil, alt, "text/html", html); err != nil {
		return err
	}
	return alt.Close()
}

// writeText writes one quoted-printable UTF-8 text part: into b as the whole
// body when parent is nil, else as a part of parent.
func writeText(b *bytes.Buffer, parent *multipart.Writer, mediaType, body string) error {
	ct := mediaType + "; charset=utf-8"
	var w io.Writer
	if parent == nil {
		b.WriteString("Content-Type: " + ct + "\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		w = b
	} else {
		pw, err := parent.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {ct},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return err
		}
		w = pw
	}
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(normalizeNewlines(strings.ToValidUTF8(body, "\uFFFD")))); err != nil {
		return err
	}
	if err := qp.Close(); err != nil {
		return err
	}
	if parent == nil {
		b.WriteString("\r\n")
	}
	return nil
}

// writeAttachment writes a as a base64 part of mixed.
func writeAttachment(mixed *multipart.Writer, a Attachment) error {
	name := attachmentName(a.Name)
	ct := "application/octet-stream"
	if mt, params, err := mime.ParseMediaType(a.ContentType); err == nil {
		params["name"] = name
		if s := mime.FormatMediaType(mt, params); s != "" {
			ct = s
		}
	}
	if ct == "application/octet-stream" {
		ct = mime.FormatMediaType(ct, map[string]string{"name": name})
	}
	w, err := mixed.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {ct},
		"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": name})},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return err
	}
	enc := make([]byte, base64.StdEncoding.EncodedLen(len(a.Data)))
	base64.StdEncoding.Encode(enc, a.Data)
	line := make([]byte, 0, base64Line+2)
	for len(enc) > 0 {
		n := min(base64Line, len(enc))
		line = append(append(line[:0], enc[:n]...), '\r', '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
		enc = enc[n:]
	}
	return nil
}

// attachmentName keeps the last element of name, without control
// characters or quotes, as a file name.
func attachmentName(name string) string {
	name = strings.ReplaceAll(strings.ToValidUTF8(name, ""), "\\", "/")
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, name)
	name = path.Base(name)
	if name == "." || name == "/" || name == "" {
		return "attachment"
	}
	return name
}

// encodeSubject makes s one header value: line breaks become spaces, it is
// cut to maxSubject runes, and non-ASCII text becomes RFC 2047 encoded words,
// folded between words so no line grows long.
func encodeSubject(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > maxSubject {
		s = string([]rune(s)[:maxSubject-1]) + "…"
	}
	enc := mime.QEncoding.Encode("utf-8", s)
	if enc == s {
		return s
	}
	// Whitespace between adjacent encoded words is not part of the text,
	// so a fold there changes nothing.
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}

// normalizeNewlines turns CRLF, lone CR and LF into LF, which the
// quoted-printable writer then writes as CRLF.
func normalizeNewlines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// newMessageID returns a unique Message-ID in the sender's domain.
func newMessageID(from string) string {
	domain := "faxgate.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		domain = from[i+1:]
	}
	var r [16]byte
	_, _ = rand.Read(r[:])
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">"
}
