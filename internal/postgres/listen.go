package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listener reconnection backoff.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 10 * time.Second
)

// startListener opens the listening connection, so that work committed by
// any instance after Open returns reaches OnWork, and relays from it in a
// goroutine that Close stops.
func (s *Store) startListener(ctx context.Context) error {
	conn, err := s.dialListener(ctx)
	if err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	s.stopListen = cancel
	s.wg.Add(1)
	go s.listen(lctx, conn)
	return nil
}

// dialListener connects outside the pool, to Options.DirectURL (a
// LISTENing session must stay with one server connection, which a
// transaction-mode pooler would not keep), and runs LISTEN.
func (s *Store) dialListener(ctx context.Context) (*pgx.Conn, error) {
	cfg := s.direct.Copy()
	cfg.RuntimeParams["application_name"] = cfg.RuntimeParams["application_name"] + " listener"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+workChannel); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}

// listen relays notifications to OnWork until ctx ends, reconnecting with
// exponential backoff when the connection drops. Notifications sent while it
// was disconnected are lost, so after reconnecting it reports every kind of
// work once: the workers look again and find whatever is due.
func (s *Store) listen(ctx context.Context, conn *pgx.Conn) {
	defer s.wg.Done()
	wait := listenMinBackoff
	for {
		if conn != nil {
			start := time.Now()
			err := s.relay(ctx, conn)
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			conn.Close(cctx)
			cancel()
			conn = nil
			if ctx.Err() != nil {
				return
			}
			if time.Since(start) > time.Minute {
				wait = listenMinBackoff // it had been healthy
			}
			s.log.Warn("work listener disconnected; reconnecting", "err", err, "retry_in", wait.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, listenMaxBackoff)
		c, err := s.dialListener(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("work listener cannot reconnect", "err", err, "retry_in", wait.String())
			continue
		}
		conn = c
		s.log.Info("work listener reconnected")
		for _, k := range wakeKinds {
			s.onWork(k.kind)
		}
	}
}

// listenPing is how long the listener waits for a notification before it
// checks that its connection still works: a connection cut without a
// word (a half-open TCP connection) would otherwise wait forever.
const listenPing = time.Minute

// relay calls OnWork for each notification until the connection fails or
// ctx ends.
func (s *Store) relay(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(wctx)
		quiet := wctx.Err() != nil
		cancel()
		if err == nil {
			if n.Channel == workChannel {
				s.onWork(n.Payload)
			}
			continue
		}
		if ctx.Err() != nil || !quiet {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return err
		}
	}
}
