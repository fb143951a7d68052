package ingest

import (
	"net"
	"runtime/debug"
	"sync"
)

// gate bounds the webhook bodies read before anything vouched for their
// sender: how many at once, how many from one source at once, and how many
// bytes they may hold together. A body-signed carrier (Phaxio, Sinch) can
// only be verified once its body is in, so without a bound anyone could make
// the gateway hold bodies it will refuse.
//
// The bytes of refused bodies are garbage the moment they are refused, and
// with the gateway's high GOGC a stream of them would pile up for a long
// time before a collection, and the doubling buffers of a large body leave
// spans no later buffer fits; so the gate counts that garbage and, once it
// reaches an eighth of the byte bound, collects and returns the memory to
// the system.
type gate struct {
	maxReads, maxPerSource int
	maxBytes               int64

	mu        sync.Mutex
	reads     int
	bytes     int64
	source    map[string]int
	garbage   int64
	collected chan struct{} // closed when the collection under way ends
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

// leave gives back a slot taken by enter and the bytes its read reserved,
// which are garbage when the body was refused.
func (g *gate) leave(source string, reserved int64, kept bool) {
	g.mu.Lock()
	g.reads--
	g.bytes -= reserved
	if g.source[source]--; g.source[source] <= 0 {
		delete(g.source, source)
	}
	g.mu.Unlock()
	if !kept {
		g.discard(reserved)
	}
}

// discard counts n bytes of an unverified read that became garbage (a
// buffer outgrown, or a refused body). The read that brings the count to
// an eighth of the byte bound collects before it goes on, and reads
// discarding more meanwhile wait for that collection: the senders of
// garbage are slowed, not everyone.
func (g *gate) discard(n int64) {
	g.mu.Lock()
	g.garbage += n
	if g.garbage < g.maxBytes/8 {
		g.mu.Unlock()
		return
	}
	if g.collected != nil {
		wait := g.collected
		g.mu.Unlock()
		<-wait
		return
	}
	g.garbage = 0
	done := make(chan struct{})
	g.collected = done
	g.mu.Unlock()
	debug.FreeOSMemory()
	g.mu.Lock()
	g.collected = nil
	g.mu.Unlock()
	close(done)
}

// take reserves n more bytes for a read in progress, reporting false when
// the unverified bodies together would pass the bound. A read's first
// buffer is always granted (the slots bound those), so that a small signed
// callback is never refused for a large body someone else is sending.
func (g *gate) take(n int64, first bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !first && g.bytes+n > g.maxBytes {
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
