package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// TestWriterCloseLosesNothing: writes racing Close from many goroutines
// are each either answered nil and on disk after a reopen, or refused
// with the closing error and absent. The two writer goroutines drain what
// was queued before either stops.
func TestWriterCloseLosesNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "faxgate.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 64, 40
	results := make([][]error, writers)
	started := make(chan struct{}, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		results[w] = make([]error, each)
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("w%d-%d", w, i)
				started <- struct{}{}
				results[w][i] = s.write(ctx, func(tx *wtx) error {
					_, err := tx.Exec(`INSERT INTO settings (name, value) VALUES (?, ?)`, name, "v")
					return err
				})
			}
		})
	}
	// Close once a good part of the writes are under way.
	for range writers * each / 3 {
		<-started
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range started {
		}
	}()
	wg.Wait()
	close(started)

	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ok, refused := 0, 0
	for w := range writers {
		for i, werr := range results[w] {
			var n int
			if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM settings WHERE name = ?`, fmt.Sprintf("w%d-%d", w, i)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			switch {
			case werr == nil && n == 1:
				ok++
			case errors.Is(werr, errClosed) && n == 0:
				refused++
			default:
				t.Errorf("write w%d-%d: answered %v, %d rows on disk", w, i, werr, n)
			}
		}
	}
	if ok == 0 || refused == 0 {
		t.Errorf("%d writes answered, %d refused: the test wants some of each", ok, refused)
	}
}
