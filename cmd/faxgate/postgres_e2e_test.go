package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// freshDatabase creates an empty database on the test PostgreSQL server
// and returns its URL; it is dropped when the test ends.
func freshDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv("FAXGATE_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("FAXGATE_TEST_DATABASE_URL is not set: scripts/test starts a PostgreSQL server (scripts/pg start)")
		}
		t.Skip(`no PostgreSQL: run eval "$(bash scripts/pg start)" first`)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "faxgate_e2e_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
		c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name)
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String()
}

// TestPostgresEndToEnd runs the core flows on PostgreSQL: send, busy,
// inbound, retries, idempotency.
func TestPostgresEndToEnd(t *testing.T) {
	db := freshDatabase(t)
	g := startGateway(t, withEnv("FAXGATE_DATABASE_URL", db))
	r := newReceiver(t)
	g.endpoint(r, nil)
	f := g.send("+15551234567", textDoc)
	if done := g.waitFax(f.ID); done.Status != "sent" {
		t.Fatalf("got %+v", done)
	}
	if ev := r.waitFor("fax.sent", f.ID); !ev.Valid {
		t.Error("signature did not verify")
	}
	b := g.send("+15551230001", textDoc)
	if done := g.waitFax(b.ID); done.Status != "failed" || done.Error.Code != "busy" {
		t.Errorf("busy: got %+v", done)
	}
	var in faxObj
	g.do("POST", "/v1/simulator/inbound", map[string]any{"from": "+15551112222", "to": "+15553334444", "pages": 2}, &in)
	var pdf []byte
	if code := g.do("GET", "/v1/faxes/"+in.ID+"/document", nil, &pdf); code != 200 || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Errorf("inbound document: %d", code)
	}
	r.waitFor("fax.received", in.ID)
}

// TestThreeInstancesOnPostgres runs three gateways on one PostgreSQL
// database with a shared document directory, sends faxes through all of
// them while killing and restarting instances with SIGKILL, and checks that
// every fax is sent exactly once and every event reaches the endpoint.
func TestThreeInstancesOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three gateway processes; skipped in -short mode")
	}
	db := freshDatabase(t)
	bin := buildBinary(t)
	shared := t.TempDir()
	r := newReceiver(t)
	env := []string{"FAXGATE_DATABASE_URL=" + db, "FAXGATE_BLOB_URL=file://" + shared,
		"FAXGATE_WEBHOOK_ALLOW_NETWORKS=127.0.0.0/8", "FAXGATE_SIMULATOR_PAGE_DELAY=30ms", "FAXGATE_CLAIM_LEASE=5s", "FAXGATE_WEBHOOK_TIMEOUT=2s",
		"FAXGATE_SEND_FIND_SETTLE=200ms", "FAXGATE_SEND_FIND_SPACING=200ms"}
	type inst struct {
		p    *process
		dir  string
		addr string
	}
	insts := make([]*inst, 3)
	for i := range insts {
		insts[i] = &inst{dir: t.TempDir(), addr: freeAddr(t)}
		insts[i].p = startProcess(t, bin, insts[i].dir, insts[i].addr, env...)
	}
	// One endpoint for all instances.
	var ep struct{ ID, Secret string }
	code, body := insts[0].p.request("POST", "/v1/webhook-endpoints", "application/json",
		bytes.NewReader([]byte(fmt.Sprintf(`{"url":%q,"inflight":true}`, r.srv.URL+"/hook"))))
	if code != 201 {
		t.Fatalf("endpoint: %d %s", code, body)
	}
	json.Unmarshal(body, &ep)
	r.mu.Lock()
	r.secret = ep.Secret
	r.mu.Unlock()

	const faxes = 60
	var mu sync.Mutex
	var ids []string
	rnd := func(n int) int { v, _ := rand.Int(rand.Reader, big.NewInt(int64(n))); return int(v.Int64()) }
	for i := 0; i < faxes; i++ {
		in := insts[rnd(3)]
		mb := multipartSend(map[string]string{"to": fmt.Sprintf("+1555%07d", 1000+i)}, textDoc)
		req, _ := http.NewRequest("POST", in.p.url+"/v1/faxes", bytes.NewReader(mb.buf.Bytes()))
		req.Header.Set("Content-Type", mb.ct)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		req.Header.Set("Idempotency-Key", fmt.Sprintf("send-%d", i))
		var f faxObj
		for attempt := 0; ; attempt++ { // a client retries with the same key
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				json.NewDecoder(resp.Body).Decode(&f)
				resp.Body.Close()
				if resp.StatusCode == 202 {
					break
				}
			}
			if attempt > 50 {
				t.Fatalf("send %d never accepted", i)
			}
			in = insts[rnd(3)]
			req, _ = http.NewRequest("POST", in.p.url+"/v1/faxes", bytes.NewReader(mb.buf.Bytes()))
			req.Header.Set("Content-Type", mb.ct)
			req.Header.Set("Authorization", "Bearer "+adminKey)
			req.Header.Set("Idempotency-Key", fmt.Sprintf("send-%d", i))
			time.Sleep(50 * time.Millisecond)
		}
		mu.Lock()
		ids = append(ids, f.ID)
		mu.Unlock()
		if i%6 == 5 { // kill one instance at random and bring it back
			k := insts[rnd(3)]
			k.p.kill()
			k.p = startProcess(t, bin, k.dir, k.addr, env...)
		}
	}
	// Every fax ends sent, with exactly one fax.sent in its timeline.
	check := insts[0].p
	deadline := time.Now().Add(90 * time.Second)
	for _, id := range ids {
		check.waitSent(id, deadline)
		_, b := check.request("GET", "/v1/faxes/"+id+"/events", "", nil)
		var evs struct{ Data []struct{ ID, Type string } }
		json.Unmarshal(b, &evs)
		n := 0
		for _, e := range evs.Data {
			if e.Type == "fax.sent" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d fax.sent events, want 1", id, n)
		}
		for _, e := range evs.Data {
			deadline := time.Now().Add(30 * time.Second)
			for !r.has(e.ID) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if !r.has(e.ID) {
				t.Errorf("event %s (%s) never delivered", e.ID, e.Type)
			}
		}
	}
	dups := 0
	seen := map[string]int{}
	for _, e := range r.got() {
		seen[e.ID]++
		if !e.Valid {
			t.Errorf("event %s: signature did not verify", e.ID)
		}
	}
	for _, n := range seen {
		if n > 1 {
			dups++
		}
	}
	t.Logf("%d faxes, %d events delivered, %d delivered more than once (instances were killed mid-delivery)", len(ids), len(seen), dups)
	if dups*20 > len(seen) {
		t.Errorf("%d of %d events delivered more than once: too many to be explained by kills", dups, len(seen))
	}
}

func (r *receiver) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.ID == id {
			return true
		}
	}
	return false
}
