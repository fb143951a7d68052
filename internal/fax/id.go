package fax

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// crockford is Crockford's base32 alphabet; its order matches byte order so
// identifiers sort by creation time.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ID prefixes make identifiers self-describing in logs and support tickets.
const (
	PrefixFax      = "fax_"
	PrefixEvent    = "evt_"
	PrefixEndpoint = "we_"
	PrefixDelivery = "dlv_"
	PrefixAPIKey   = "key_"
	PrefixAttempt  = "att_"
	PrefixAudit    = "aud_"
	// PrefixBatch names the faxes of one send to several recipients.
	PrefixBatch = "bat_"
)

// NewID returns prefix followed by a 26-character ULID: 48 bits of
// milliseconds since the epoch then 80 random bits. IDs of one prefix sort by
// creation time, which cursor pagination relies on.
func NewID(prefix string, t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("fax: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	return prefix + encodeULID(b)
}

func encodeULID(b [16]byte) string {
	// 128 bits → 26 chars of 5 bits, the first char carrying the top 3 bits.
	var out [26]byte
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// RandomToken returns n random bytes; used for secrets, keys and per-fax tokens.
func RandomToken(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("fax: crypto/rand failed: " + err.Error())
	}
	return b
}

// IDGen makes IDs that are strictly increasing even within one millisecond
// (a monotonic ULID), so that a fax's events sort in the order they were
// recorded. The zero value is ready; it is safe for concurrent use.
type IDGen struct {
	mu   sync.Mutex
	last [16]byte
}

// New returns the next ID with prefix at time t.
func (g *IDGen) New(prefix string, t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("fax: crypto/rand failed: " + err.Error())
	}
	g.mu.Lock()
	if string(b[:6]) <= string(g.last[:6]) {
		// Same (or earlier) millisecond: increment the previous value.
		b = g.last
		for i := 15; i >= 6; i-- {
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	}
	g.last = b
	g.mu.Unlock()
	return prefix + encodeULID(b)
}
