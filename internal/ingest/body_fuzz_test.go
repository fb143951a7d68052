package ingest

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// FuzzReadBody: whatever length is announced and however the bytes
// arrive, readBody returns them exactly, in a buffer bounded by what
// arrived (never by the announcement), and leaves a gate's reservations
// matching its buffer.
func FuzzReadBody(f *testing.F) {
	f.Add([]byte("fax[id]=1"), int64(9), uint8(0))
	f.Add([]byte("x"), int64(41943040), uint8(1))
	f.Add(bytes.Repeat([]byte("a"), 40000), int64(-1), uint8(2))
	f.Add(bytes.Repeat([]byte("a"), 40000), int64(39999), uint8(3))
	f.Fuzz(func(t *testing.T, body []byte, announced int64, mode uint8) {
		var rd io.Reader = bytes.NewReader(body)
		switch mode % 4 {
		case 1:
			rd = iotest.OneByteReader(rd)
		case 2:
			rd = iotest.HalfReader(rd)
		case 3:
			rd = iotest.DataErrReader(rd)
		}
		g := newGate(1, 1, 1<<30)
		if !g.enter("src") {
			t.Fatal("enter")
		}
		got, err := readBody(rd, announced, g)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("got %d bytes, %v; want the %d bytes sent", len(got), err, len(body))
		}
		if limit := max(2*len(body)+2, firstBuffer); cap(got) > limit {
			t.Fatalf("got a buffer of %d bytes for %d bytes sent (announced %d), want at most %d", cap(got), len(body), announced, limit)
		}
		if g.bytes != int64(cap(got)) {
			t.Fatalf("gate holds %d bytes for a buffer of %d", g.bytes, cap(got))
		}
		g.leave("src", int64(cap(got)), false)
		if g.bytes != 0 || g.reads != 0 || len(g.source) != 0 {
			t.Fatalf("gate not empty after leave: %+v", g)
		}
	})
}
