package providertest

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Redirect sends the client elsewhere, which a send must not follow.
func Redirect(to string, code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, code) }
}

// Truncated promises more body than it sends (the start of a success
// answer), so the answer is cut off.
func Truncated(start string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "200")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(start))
	}
}

// CloseAfterRead drops the connection once the request was read whole, as
// a carrier that crashed while taking the fax would.
func CloseAfterRead(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

// Block answers only once the client gave up or release is closed.
func Block(release <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
}

// Base sets up where a carrier is reached: its base URL and the client to
// reach it with (nil: the carrier's default).
type Base func(t *testing.T) (baseURL string, client *http.Client)

// H2Blocking is a trusted HTTP/2 server that reads the request whole and
// never answers, with a client that gives up after a short timeout.
func H2Blocking(release <-chan struct{}, path string) Base {
	return func(t *testing.T) (string, *http.Client) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ProtoMajor != 2 {
				t.Errorf("got %s, want HTTP/2", r.Proto)
			}
			io.Copy(io.Discard, r.Body)
			Block(release)(w, r)
		}))
		srv.EnableHTTP2 = true
		srv.StartTLS()
		t.Cleanup(srv.Close)
		client := srv.Client()
		client.Timeout = 250 * time.Millisecond
		return srv.URL + path, client
	}
}

// Canceled is a context that has ended.
func Canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// NothingListening is a loopback address nobody listens on.
func NothingListening(path string) Base {
	return func(t *testing.T) (string, *http.Client) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr + path, nil
	}
}

// DNSFailure is host, which does not resolve.
func DNSFailure(host, path string) Base {
	return func(t *testing.T) (string, *http.Client) {
		tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
		}}
		t.Cleanup(tr.CloseIdleConnections)
		return "http://" + host + path, &http.Client{Transport: tr}
	}
}

// UntrustedTLS is a TLS server whose certificate the client does not
// trust: the handshake fails before anything is sent.
func UntrustedTLS(path string) Base {
	return func(t *testing.T) (string, *http.Client) {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Error("the TLS server got a request")
		}))
		srv.Config.ErrorLog = DiscardLog()
		t.Cleanup(srv.Close)
		return srv.URL + path, &http.Client{Transport: &http.Transport{}}
	}
}

// DiscardLog silences a test server's error log (expected TLS failures).
func DiscardLog() *log.Logger { return log.New(io.Discard, "", 0) }
