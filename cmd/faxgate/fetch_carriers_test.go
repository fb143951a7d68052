package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/gofax"
)

// TestFetchKeepsCause: a GoFax document download cut off mid-answer, or a
// file server that cannot be reached, fails retryably and keeps what went
// wrong in the error's chain for the log, without the token-bearing URL.
func TestFetchKeepsCause(t *testing.T) {
	t.Parallel()
	// Announces 8192 bytes, sends past the sniff window, and hangs up.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				http.ReadRequest(bufio.NewReader(c))
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 8192\r\nContent-Type: application/json\r\n\r\n\"JVBERi0xLjQK"+strings.Repeat("A", 4000))
			}()
		}
	}()
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()

	for _, tt := range []struct {
		name, base string
		cause      func(error) bool
	}{
		{"cut off", "http://" + ln.Addr().String(), func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{"unreachable", goneURL, func(err error) bool { var oe *net.OpError; return errors.As(err, &oe) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := gofax.New(gofax.Config{Tokens: []string{"gofax-secret-token"}, BaseURL: tt.base})
			if err != nil {
				t.Fatal(err)
			}
			req, err := p.FileRequest(t.Context(), "4711")
			if err != nil {
				t.Fatal(err)
			}
			_, err = fetchFile(http.DefaultClient, req, download{carrier: gofax.Name, limit: 1 << 20, decode: gofax.DecodeFile})
			if got := fax.ErrorCode(err); got != fax.ECodeUnavailable {
				t.Fatalf("got code %q (%v), want unavailable", got, err)
			}
			if !tt.cause(err) {
				t.Errorf("got error %q, want its cause in the chain", err)
			}
			if strings.Contains(err.Error(), "gofax-secret-token") {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}
