package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// SessionStore keeps console sessions. It is asserted rather than part of
// Store so that the console's methods stay in their own file.
type SessionStore interface {
	CreateSession(ctx context.Context, s *fax.Session) error
	FindSession(ctx context.Context, id string) (*fax.Session, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	DeleteSession(ctx context.Context, id string) error
	DeleteExpiredSessions(ctx context.Context, idleBefore, now time.Time) (int, error)
}

func testSessions(t *testing.T, st Store, clock *Clock) {
	ctx := context.Background()
	s, ok := st.(SessionStore)
	if !ok {
		t.Fatalf("the store does not keep console sessions")
	}
	now := clock.Now()
	mk := func(id string, created time.Time, absolute time.Duration) *fax.Session {
		return &fax.Session{ID: id, KeyID: "key_1", KeyHash: "h1", CSRF: "csrf-" + id, CreatedAt: created, LastSeenAt: created, ExpiresAt: created.Add(absolute)}
	}
	a := mk("aaaa", now, 12*time.Hour)
	if err := s.CreateSession(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindSession(ctx, "aaaa")
	if err != nil {
		t.Fatal(err)
	}
	if got.KeyID != "key_1" || got.KeyHash != "h1" || got.CSRF != "csrf-aaaa" || !got.CreatedAt.Equal(now) || !got.LastSeenAt.Equal(now) || !got.ExpiresAt.Equal(now.Add(12*time.Hour)) {
		t.Errorf("got %+v, want what was stored", got)
	}
	if _, err := s.FindSession(ctx, "nope"); fax.ErrorCode(err) != fax.ECodeNotFound {
		t.Errorf("unknown session: got %v, want not_found", err)
	}
	if err := s.CreateSession(ctx, mk("aaaa", now, time.Hour)); err == nil {
		t.Errorf("a second session with the same id was stored")
	}

	// Touching moves last_seen_at forward only.
	if err := s.TouchSession(ctx, "aaaa", now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSession(ctx, "aaaa", now.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FindSession(ctx, "aaaa"); got == nil || !got.LastSeenAt.Equal(now.Add(10*time.Minute)) {
		t.Errorf("last seen: got %+v, want %v", got, now.Add(10*time.Minute))
	}

	// Expired sessions go: b is idle, c is past its absolute expiry.
	b := mk("bbbb", now.Add(-2*time.Hour), 12*time.Hour)
	c := mk("cccc", now.Add(-13*time.Hour), 12*time.Hour)
	c.LastSeenAt = now
	for _, se := range []*fax.Session{b, c} {
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteExpiredSessions(ctx, now.Add(-time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("expired sessions deleted: got %d, want 2", n)
	}
	for _, id := range []string{"bbbb", "cccc"} {
		if _, err := s.FindSession(ctx, id); fax.ErrorCode(err) != fax.ECodeNotFound {
			t.Errorf("session %s after purge: got %v, want not_found", id, err)
		}
	}
	if _, err := s.FindSession(ctx, "aaaa"); err != nil {
		t.Errorf("live session purged: %v", err)
	}

	// Sign-out deletes; deleting again is fine.
	for range 2 {
		if err := s.DeleteSession(ctx, "aaaa"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.FindSession(ctx, "aaaa"); fax.ErrorCode(err) != fax.ECodeNotFound {
		t.Errorf("signed-out session: got %v, want not_found", err)
	}
}
