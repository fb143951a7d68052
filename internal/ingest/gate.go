package ingest

import (
	"net"
	"sync"
)

// gate bounds the webhook bodies read before anything vouched for their
// sender: how many at once, how many from one source at once, and how many
// bytes they may hold together. A body-signed carrier (Phaxio, Sinch) can
// only be verified once its body is in, so without a bound anyone could make
// the gateway hold bodies it will refuse.
type gate struct {
	maxReads, maxPerSource int
	maxBytes               int64

	mu     sync.Mutex
	reads  int
	bytes  int64
	source map[string]int
}

func newGate(maxReads, maxPerSource int, maxBytes int64) *gate {
	return &gate{maxReads: maxReads, maxPerSource: maxPerSource, maxBytes: maxBytes, source: map[string]int{}}
}

// enter takes a read slot for source, reporting false when the gate is
// full or source already holds its share.
func (g *gate) enter(source string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reads >= g.maxReads || g.source[source] >= g.maxPerSource {
		return false
	}
	g.reads++
	g.source[source]++
	return true
}

// leave gives back a slot taken by enter and the bytes its read held.
func (g *gate) leave(source string, held int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reads--
	g.bytes -= held
	if g.source[source]--; g.source[source] <= 0 {
		delete(g.source, source)
	}
}

// take reserves n more bytes for a read in progress, reporting false when
// the unverified bodies together would pass the bound.
func (g *gate) take(n int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.bytes+n > g.maxBytes {
		return false
	}
	g.bytes += n
	return true
}

// sourceOf is the connection's own address without its port: the peer,
// never a header the sender writes.
func sourceOf(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}
