package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/postgres"
	"github.com/jackc/pgx/v5"
)

// TestGatewayBehindPgBouncer runs a gateway whose pool goes through Debian's
// PgBouncer in transaction mode (pgbouncer 1.18 keeps no prepared
// statements, so the URL sets pgx's default_query_exec_mode=cache_describe,
// as the README says), with FAXGATE_DATABASE_LISTEN_URL naming the server
// itself for the sessions that keep state. Sends, carrier callbacks,
// deliveries and inbound faxes work; the gateway's NOTIFYs, sent inside its
// pooled transactions, reach listeners; its LISTEN session and leader
// locks never pass through PgBouncer, and a lead released by one instance
// passes to the next.
func TestGatewayBehindPgBouncer(t *testing.T) {
	t.Parallel()
	direct := freshDatabase(t)
	bouncer := startPgBouncer(t, direct)
	pooled := bouncer + "&default_query_exec_mode=cache_describe"
	ctx := context.Background()

	// A listener of the test's own, straight on the server.
	heard := mustListen(t, direct)

	g := startGateway(t, withEnv("FAXGATE_DATABASE_URL", pooled), withEnv("FAXGATE_DATABASE_LISTEN_URL", direct))
	r := newReceiver(t)
	g.endpoint(r, nil)
	for i := range 5 {
		f := g.send(fmt.Sprintf("+1555123456%d", i), textDoc)
		if done := g.waitFax(f.ID); done.Status != "sent" {
			t.Fatalf("send %d through PgBouncer: got %+v", i, done)
		}
		if ev := r.waitFor("fax.sent", f.ID); !ev.Valid {
			t.Errorf("send %d: the fax.sent webhook did not verify", i)
		}
	}
	var in faxObj
	if code := g.do("POST", "/v1/simulator/inbound", map[string]any{"from": "+15551112222", "to": "+15553334444", "pages": 2}, &in); code != 201 && code != 202 {
		t.Fatalf("simulator inbound: %d", code)
	}
	r.waitFor("fax.received", in.ID)
	if kind := waitNotification(t, heard); kind == "" {
		t.Error("no NOTIFY from the gateway reached a listener")
	}

	// Two stores through PgBouncer: a session lock must live on a session
	// of its own, or it stays behind on a server connection PgBouncer
	// hands to others.
	a, err := postgres.Open(ctx, pooled, postgres.Options{DirectURL: direct})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(ctx, pooled, postgres.Options{DirectURL: direct})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for round := range 3 {
		release, ok, err := a.TryLead(ctx, "pgbouncer-test")
		if err != nil || !ok {
			t.Fatalf("round %d: a: got %v %v, want to lead", round, ok, err)
		}
		if _, ok, err := b.TryLead(ctx, "pgbouncer-test"); err != nil || ok {
			t.Fatalf("round %d: b while a leads: got %v %v, want not to lead", round, ok, err)
		}
		release()
		releaseB, ok, err := b.TryLead(ctx, "pgbouncer-test")
		if err != nil || !ok {
			t.Fatalf("round %d: b after a released: got %v %v, want to lead", round, ok, err)
		}
		releaseB()
	}
	// While a holds a lead, its session is on the server and not a client
	// of PgBouncer; nor is any gateway's listener.
	release, ok, err := a.TryLead(ctx, "pgbouncer-test")
	if err != nil || !ok {
		t.Fatalf("a: got %v %v, want to lead", ok, err)
	}
	defer release()
	for _, app := range bouncerClients(t, bouncer) {
		if strings.HasSuffix(app, " listener") || strings.HasSuffix(app, " lead") {
			t.Errorf("PgBouncer has a client %q: sessions that keep state must go to FAXGATE_DATABASE_LISTEN_URL", app)
		}
	}
	var listeners, leads int
	conn := mustPGConn(t, direct)
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE application_name = 'faxgate listener' AND query = 'LISTEN faxgate_work'),
		count(*) FILTER (WHERE application_name = 'faxgate lead')
		FROM pg_stat_activity WHERE datname = current_database()`).Scan(&listeners, &leads); err != nil {
		t.Fatal(err)
	}
	if listeners != 1 || leads != 1 {
		t.Errorf("on the server: %d listeners and %d lead sessions, want the gateway's listener and a's lead", listeners, leads)
	}
}

// startPgBouncer runs Debian's pgbouncer in transaction mode on a loopback
// port in front of the test server and returns its URL for the database
// of direct. It skips the test only when pgbouncer is not installed
// (.ci/run installs it, so CI fails instead).
func startPgBouncer(t *testing.T, direct string) string {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		bin = "/usr/sbin/pgbouncer"
		if _, serr := os.Stat(bin); serr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("pgbouncer is not installed: .ci/run installs it (apt-get install pgbouncer)")
			}
			t.Skip("pgbouncer is not installed (apt-get install pgbouncer); this test needs it")
		}
	}
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	// pgbouncer refuses to run as root; as root it runs as postgres, which
	// must read its directory.
	dir, err := os.MkdirTemp("", "faxgate-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	user := u.User.Username()
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s user=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %s
unix_socket_dir =
auth_type = trust
auth_file = %s
admin_users = %s
pool_mode = transaction
default_pool_size = 20
max_client_conn = 500
ignore_startup_parameters = extra_float_digits
logfile = %s
`, u.Hostname(), u.Port(), user, port, filepath.Join(dir, "users.txt"), user, filepath.Join(dir, "pgbouncer.log"))
	for name, body := range map[string]string{"pgbouncer.ini": ini, "users.txt": fmt.Sprintf("%q \"\"\n", user)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "postgres"}, args...)
	}
	cmd := exec.Command(bin, args...)
	out, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		out.Close()
	})
	pu := *u
	pu.Host = addr
	q := pu.Query()
	q.Set("sslmode", "disable")
	pu.RawQuery = q.Encode()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := pgx.Connect(context.Background(), pu.String())
		if err == nil {
			c.Close(context.Background())
			return pu.String()
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "stderr"))
			log2, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("pgbouncer did not answer: %v\n%s%s", err, log, log2)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bouncerClients lists the application names of PgBouncer's clients, from
// its admin console (which speaks only the simple protocol).
func bouncerClients(t *testing.T, bouncer string) []string {
	t.Helper()
	u, _ := url.Parse(bouncer)
	u.Path = "/pgbouncer"
	u.RawQuery = "sslmode=disable&default_query_exec_mode=simple_protocol"
	conn := mustPGConn(t, u.String())
	rows, err := conn.Query(context.Background(), "SHOW CLIENTS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	col := -1
	for i, f := range rows.FieldDescriptions() {
		if f.Name == "application_name" {
			col = i
		}
	}
	if col < 0 {
		t.Fatal("SHOW CLIENTS has no application_name column")
	}
	var apps []string
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		apps = append(apps, fmt.Sprint(v[col]))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(apps) == 0 {
		t.Fatal("SHOW CLIENTS listed no client, not even the stores' pools")
	}
	return apps
}

func mustPGConn(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// mustListen LISTENs on faxgate's work channel on a connection of the
// test's own.
func mustListen(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	conn := mustPGConn(t, dbURL)
	if _, err := conn.Exec(context.Background(), "LISTEN faxgate_work"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// waitNotification returns the payload of the first notification conn has
// received, or "" when none came.
func waitNotification(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := conn.WaitForNotification(ctx)
	if err != nil {
		return ""
	}
	if !strings.Contains(strings.Join([]string{"fax", "delivery", "inbound", "endpoint"}, " "), n.Payload) {
		t.Errorf("notification payload %q, want a kind of work", n.Payload)
	}
	return n.Payload
}
