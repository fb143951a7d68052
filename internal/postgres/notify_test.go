package postgres

import (
	"sync"
	"testing"
	"time"
)

// TestNotifierSpacesButNeverDrops: the first commit of a kind notifies in
// its transaction; the next ones within notifyEvery do not, and one
// trailing NOTIFY announces them all; close sends what is pending at once.
func TestNotifierSpacesButNeverDrops(t *testing.T) {
	var mu sync.Mutex
	var sent []int
	got := make(chan struct{}, 10)
	n := newNotifier(func(kinds int) {
		mu.Lock()
		sent = append(sent, kinds)
		mu.Unlock()
		got <- struct{}{}
	})
	t0 := time.Now()
	if !n.take(wakeDelivery, t0) {
		t.Fatal("the first delivery commit did not notify in its transaction")
	}
	if !n.take(wakeFax, t0) {
		t.Fatal("another kind is spaced apart from deliveries")
	}
	for i := 1; i <= 3; i++ {
		if n.take(wakeDelivery, t0.Add(time.Duration(i)*time.Millisecond)) {
			t.Fatalf("commit %d within %s notified in its transaction", i, notifyEvery)
		}
		n.later(wakeDelivery)
	}
	n.later(wakeInbound)
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no trailing NOTIFY")
	}
	mu.Lock()
	if len(sent) != 1 || sent[0] != wakeDelivery|wakeInbound {
		t.Errorf("trailing NOTIFYs %v, want one of delivery and inbound (%d)", sent, wakeDelivery|wakeInbound)
	}
	sent = nil
	mu.Unlock()
	// After the trailing one, the interval starts again from it.
	if n.take(wakeDelivery, time.Now()) {
		t.Error("a commit right after the trailing NOTIFY notified again")
	}
	if !n.take(wakeDelivery, time.Now().Add(notifyEvery)) {
		t.Error("a commit a whole interval later did not notify")
	}
	n.later(wakeFax)
	n.close()
	mu.Lock()
	if len(sent) != 1 || sent[0] != wakeFax {
		t.Errorf("close sent %v, want the pending fax notification", sent)
	}
	mu.Unlock()
	n.later(wakeFax) // after close: nothing
	time.Sleep(2 * notifyEvery)
	mu.Lock()
	if len(sent) != 1 {
		t.Errorf("sent %v after close", sent)
	}
	mu.Unlock()
}
