package ingest

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadBody(t *testing.T) {
	body := strings.Repeat("fax ", 300)
	for _, tc := range []struct {
		name      string
		announced int64
	}{
		{"exact", int64(len(body))},
		{"unknown", -1},
		{"announced short", 10},
		{"announced long", int64(len(body)) + 100},
		{"announced over the limit", 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readBody(iotest.HalfReader(strings.NewReader(body)), tc.announced, nil)
			if err != nil || string(got) != body {
				t.Errorf("got %d bytes, %v; want the %d bytes of the body", len(got), err, len(body))
			}
		})
	}
}

func TestReadBodyTooLarge(t *testing.T) {
	rec := httptest.NewRecorder()
	rd := http.MaxBytesReader(rec, io.NopCloser(bytes.NewReader(make([]byte, 200))), 100)
	_, err := readBody(rd, 200, nil)
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		t.Errorf("got %v, want *http.MaxBytesError", err)
	}
}
