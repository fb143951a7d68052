package postgres

import (
	"context"
	"sync"
	"time"
)

// notifyEvery is the least time between two NOTIFYs of one kind of work
// from one Store. A NOTIFY makes its transaction's commit take a lock that
// every notifying commit in the cluster shares, so one per transaction
// costs throughput (the bench: ingest −12%); one per kind per 5 ms wakes
// the other instances as surely, at most 5 ms later.
const notifyEvery = 5 * time.Millisecond

// notifier spaces out a Store's NOTIFYs. A transaction that creates work
// sends the NOTIFY itself (atomically with its commit) when its kind has
// not been announced for notifyEvery; otherwise, once it has committed, the
// kind is left to one trailing NOTIFY sent outside a transaction at the end
// of the interval. So every commit of work is announced, to every
// instance, within notifyEvery of the commit; this Store's own OnWork is
// called at once after the commit.
type notifier struct {
	send func(kinds int) // NOTIFY each kind in kinds, outside a transaction

	mu      sync.Mutex
	last    map[int]time.Time // kind flag → when it was last announced
	pending int               // kinds waiting for the trailing NOTIFY
	timer   *time.Timer
	closed  bool
}

func newNotifier(send func(kinds int)) *notifier {
	return &notifier{send: send, last: map[int]time.Time{}}
}

// take reports whether a transaction committing work of kind (a wake flag)
// at now should NOTIFY it itself, and if so counts it as announced.
func (n *notifier) take(kind int, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if now.Sub(n.last[kind]) < notifyEvery {
		return false
	}
	n.last[kind] = now
	return true
}

// later arranges a trailing NOTIFY of kinds, for work committed without one.
func (n *notifier) later(kinds int) {
	if kinds == 0 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.pending |= kinds
	if n.timer == nil {
		n.timer = time.AfterFunc(notifyEvery, n.flush)
	}
}

func (n *notifier) flush() {
	n.mu.Lock()
	kinds := n.pending
	n.pending, n.timer = 0, nil
	now := time.Now()
	for _, k := range wakeKinds {
		if kinds&k.flag != 0 {
			n.last[k.flag] = now
		}
	}
	closed := n.closed
	n.mu.Unlock()
	if kinds != 0 && !closed {
		n.send(kinds)
	}
}

// close sends what is pending at once and stops the timer.
func (n *notifier) close() {
	n.mu.Lock()
	if n.timer != nil {
		n.timer.Stop()
		n.timer = nil
	}
	kinds := n.pending
	n.pending = 0
	n.closed = true
	n.mu.Unlock()
	if kinds != 0 {
		n.send(kinds)
	}
}

// sendNotify announces kinds to every instance outside a transaction. A
// failure is logged: the instances' polling finds the work anyway.
func (s *Store) sendNotify(kinds int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, k := range wakeKinds {
		if kinds&k.flag == 0 {
			continue
		}
		if _, err := s.pool.Exec(ctx, "SELECT pg_notify($1, $2)", workChannel, k.kind); err != nil {
			s.log.Warn("work notification not sent; instances will find the work when they next poll", "kind", k.kind, "err", err)
		}
	}
}
