package asterisk

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// Bounds on what faxgate reads from AMI. Asterisk's own messages are far
// smaller; a peer sending more is not a manager interface worth trusting,
// and the connection is dropped.
const (
	maxLineLen    = 8 << 10  // bytes in one line, CRLF included
	maxMessageLen = 64 << 10 // bytes in one message
	maxFields     = 512      // lines in one message
)

// protoError is an AMI protocol violation. A constant type, so that the
// package holds no mutable error variables.
type protoError string

func (e protoError) Error() string { return "asterisk: AMI: " + string(e) }

const (
	errLineTooLong    protoError = "line longer than 8 KB"
	errMessageTooLong protoError = "message longer than 64 KB or 512 lines"
	errBadField       protoError = "action field holds CR, LF or a bad key"
)

// Field is one "Key: Value" line of an AMI message.
type Field struct {
	Key   string
	Value string
}

// Message is one AMI message: its lines in the order they came. Keys are
// compared case-insensitively, as Asterisk does; repeated keys (Variable,
// ChanVariable) are all kept, and so are lines without a colon (Key "").
type Message struct {
	Fields []Field
}

// Get returns the value of the first field named key, or "".
func (m Message) Get(key string) string {
	for _, f := range m.Fields {
		if strings.EqualFold(f.Key, key) {
			return f.Value
		}
	}
	return ""
}

// Has reports whether a field named key is present, even empty.
func (m Message) Has(key string) bool {
	for _, f := range m.Fields {
		if strings.EqualFold(f.Key, key) {
			return true
		}
	}
	return false
}

// readLine reads one line without its line ending (CRLF, or LF alone, which
// some proxies send). A line past maxLineLen is an error: framing is lost.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return "", errLineTooLong
	case err != nil && len(line) > 0 && errors.Is(err, io.EOF):
		return "", io.ErrUnexpectedEOF
	case err != nil:
		return "", err
	}
	if len(line) > maxLineLen {
		return "", errLineTooLong
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
	return string(line), nil
}

// newReader returns a reader whose buffer bounds a line.
func newReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, maxLineLen) }

// readMessage reads one message: "Key: Value" lines up to a blank line.
// Blank lines before a message are skipped. The key is trimmed, the value
// loses the spaces after the colon and trailing spaces; a line without a
// colon is kept whole as a field with an empty key.
func readMessage(r *bufio.Reader) (Message, error) {
	var m Message
	size := 0
	for {
		line, err := readLine(r)
		if err != nil {
			if errors.Is(err, io.EOF) && len(m.Fields) > 0 {
				return Message{}, io.ErrUnexpectedEOF
			}
			return Message{}, err
		}
		if strings.TrimSpace(line) == "" {
			if len(m.Fields) == 0 {
				continue
			}
			return m, nil
		}
		size += len(line) + 2
		if size > maxMessageLen || len(m.Fields) >= maxFields {
			return Message{}, errMessageTooLong
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			m.Fields = append(m.Fields, Field{Value: strings.TrimSpace(line)})
			continue
		}
		m.Fields = append(m.Fields, Field{Key: strings.TrimSpace(key), Value: strings.Trim(value, " \t")})
	}
}

// encodeMessage writes fields as one AMI message. A key or value holding CR
// or LF is refused rather than escaped: AMI has no escaping, and a newline
// in a value would let it inject a second action. So is a line longer than
// maxLineLen, which readLine (and a manager interface) would refuse.
func encodeMessage(fields []Field) ([]byte, error) {
	var b bytes.Buffer
	for _, f := range fields {
		if f.Key == "" || strings.ContainsAny(f.Key, ":\r\n \t") || strings.ContainsAny(f.Value, "\r\n") {
			return nil, errBadField
		}
		// A line the reading side would refuse as too long breaks framing.
		if len(f.Key)+len(": ")+len(f.Value)+len("\r\n") > maxLineLen {
			return nil, errLineTooLong
		}
		b.WriteString(f.Key)
		b.WriteString(": ")
		b.WriteString(f.Value)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}
