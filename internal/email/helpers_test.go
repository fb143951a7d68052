package email

import (
	"bytes"
	"io"
	"mime/quotedprintable"
)

func quotedPrintableReader(b []byte) io.Reader {
	return quotedprintable.NewReader(bytes.NewReader(b))
}
