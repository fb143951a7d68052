package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"syscall"
)

// countingConn counts the bytes read from a connection and keeps the first
// read error, so that a failed attempt can tell oversized response headers,
// and a connection reset in the status line, from an answer that is not
// HTTP: net/http reports all three only as text.
type countingConn struct {
	net.Conn
	read    atomic.Int64
	readErr atomic.Pointer[error]
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	if err != nil {
		// A copy, so that err itself stays off the heap on every read.
		kept := err
		c.readErr.CompareAndSwap(nil, &kept)
	}
	return n, err
}

// dialCounting wraps dial's connections in countingConn.
func dialCounting(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c}, nil
	}
}

// attemptTrace follows one request through its steps (connect, TLS, send,
// wait for the answer, read its headers), so that a failed attempt records
// where it failed.
type attemptTrace struct {
	mu        sync.Mutex
	conn      *countingConn
	connected bool
	tlsStart  bool
	tlsDone   bool
	tlsErr    error
	wrote     bool
	firstByte bool
	readAt    int64 // conn's bytes read when the request was written
}

func (tr *attemptTrace) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		TLSHandshakeStart: func() { tr.mu.Lock(); tr.tlsStart = true; tr.mu.Unlock() },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			tr.mu.Lock()
			tr.tlsDone, tr.tlsErr = true, err
			tr.mu.Unlock()
		},
		GotConn: func(info httptrace.GotConnInfo) {
			c := info.Conn
			if tc, ok := c.(*tls.Conn); ok {
				c = tc.NetConn()
			}
			tr.mu.Lock()
			tr.connected = true
			tr.conn, _ = c.(*countingConn)
			tr.mu.Unlock()
		},
		WroteRequest: func(httptrace.WroteRequestInfo) {
			tr.mu.Lock()
			tr.wrote = true
			if tr.conn != nil {
				tr.readAt = tr.conn.read.Load()
			}
			tr.mu.Unlock()
		},
		GotFirstResponseByte: func() { tr.mu.Lock(); tr.firstByte = true; tr.mu.Unlock() },
	}
}

// describe is the attempt's error text for a request that failed: the step
// it failed at and why, in fixed words that never carry the URL, its
// credentials or what the receiver sent.
func (tr *attemptTrace) describe(err error) string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	base := describeError(err)
	timeout := base == "timeout"
	switch {
	case tr.tlsStart && !tr.tlsDone && timeout:
		return "tls: handshake timed out"
	case tr.tlsErr != nil:
		if d := describeError(tr.tlsErr); d != "request failed" && d != "timeout" {
			return d
		}
		return "tls: handshake failed"
	case !tr.connected:
		if timeout {
			return "timeout connecting"
		}
		if base == "request failed" && tr.tlsStart {
			return "tls: handshake failed"
		}
		return base
	case !tr.wrote:
		if timeout {
			return "timeout sending the request"
		}
		return base
	case !tr.firstByte:
		if timeout {
			return "timeout awaiting response headers"
		}
		return base
	}
	// Part of the answer came: the failure is in its headers.
	var readErr error
	var headerBytes int64
	if tr.conn != nil {
		if p := tr.conn.readErr.Load(); p != nil {
			readErr = *p
		}
		headerBytes = tr.conn.read.Load() - tr.readAt
	}
	switch {
	case timeout:
		return "timeout reading response headers: the receiver sent only part of them"
	case headerBytes >= maxResponseHeaderBytes:
		return "response headers larger than 64 KiB"
	case errors.Is(readErr, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNRESET):
		return "connection reset in the response's status line or headers"
	case errors.Is(readErr, io.EOF) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed in the response's status line or headers"
	}
	return "malformed response: the status line or headers are not HTTP"
}
