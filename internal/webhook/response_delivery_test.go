package webhook

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// rawReceiver is a TCP server on loopback that reads each request's headers
// and then hands the connection to answer, which may misbehave at will.
func rawReceiver(t *testing.T, answer func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						break
					}
				}
				answer(c)
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/hook"
}

// TestTricklingBodyDoesNotHoldTheSlot: a 200 whose body comes a byte at a
// time is a success as soon as the status is in, not after the client's
// timeout (ten minutes here; the test waits far less).
func TestTricklingBodyDoesNotHoldTheSlot(t *testing.T) {
	t.Parallel()
	url := rawReceiver(t, func(c net.Conn) {
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"))
		for range 1000 {
			time.Sleep(200 * time.Millisecond)
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
		}
	})
	store := newFakeStore()
	store.add(newJob("dlv_trickle", url))
	client := NewClient(ClientOptions{AllowNetworks: loopback(), Timeout: 10 * time.Minute})
	w := newTestWorker(store, newFakeClock(), Options{Client: client, LeaseFor: time.Hour})
	done := make(chan error, 1)
	go func() {
		_, err := w.DeliverOnce(t.Context())
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the attempt still runs after 60s: the trickling body holds it")
	}
	if d := store.delivery(t, "dlv_trickle"); d.Status != fax.DeliverySucceeded || len(d.Attempts) != 1 || d.Attempts[0].StatusCode != 200 {
		t.Errorf("got %s with %+v, want succeeded after one 200", d.Status, d.Attempts)
	}
}

// TestFailedRequestSaysWhy: a request that got no usable answer records
// the step it failed at and why, never the URL or its credentials.
func TestFailedRequestSaysWhy(t *testing.T) {
	t.Parallel()
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(plain.Close)
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"oversized headers", rawReceiver(t, func(c net.Conn) {
			c.Write([]byte("HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n"))
			time.Sleep(time.Second)
			c.Close()
		}), "response headers larger than 64 KiB"},
		{"reset in the status line", rawReceiver(t, func(c net.Conn) {
			c.Write([]byte("HTTP/1.1 2"))
			time.Sleep(50 * time.Millisecond)
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}), "connection reset in the response's status line or headers"},
		{"closed in the headers", rawReceiver(t, func(c net.Conn) {
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Ty"))
			c.Close()
		}), "connection closed in the response's status line or headers"},
		{"not HTTP", rawReceiver(t, func(c net.Conn) {
			c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n\r\n"))
			time.Sleep(time.Second)
			c.Close()
		}), "malformed response: the status line or headers are not HTTP"},
		{"no answer", rawReceiver(t, func(c net.Conn) {
			time.Sleep(5 * time.Second)
			c.Close()
		}), "timeout awaiting response headers"},
		{"half the headers", rawReceiver(t, func(c net.Conn) {
			c.Write([]byte("HTTP/1.1 200 OK\r\n"))
			time.Sleep(5 * time.Second)
			c.Close()
		}), "timeout reading response headers: the receiver sent only part of them"},
		{"TLS to a plain HTTP server", "https" + strings.TrimPrefix(plain.URL, "http") + "/hook", "tls: server did not answer with TLS"},
	}
	client := NewClient(ClientOptions{AllowNetworks: loopback(), Timeout: time.Second})
	w := newTestWorker(newFakeStore(), newFakeClock(), Options{Client: client})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := strings.Replace(tt.url, "://", "://user:s3cret-pw@", 1)
			job := newJob("dlv_"+tt.name, u)
			r := w.attempt(t.Context(), &job)
			if r.attempt.Error != tt.want {
				t.Errorf("attempt error %q, want %q", r.attempt.Error, tt.want)
			}
			if strings.Contains(r.attempt.Error, "s3cret") || strings.Contains(r.attempt.Error, "127.0.0.1") {
				t.Errorf("attempt error %q leaks the URL", r.attempt.Error)
			}
		})
	}
}
