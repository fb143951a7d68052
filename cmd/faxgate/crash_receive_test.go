package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCrashDuringDocumentFetch kills faxgate with SIGKILL while it fetches
// a received fax's document from GoFax's API. The fax, listed since its
// webhook was answered, is still listed after the restart with its
// document pending, never absent; on SQLite the restarted gateway takes the
// fetch up again at once and the fax ends available with one fax.received.
// On PostgreSQL (another instance may hold the fetch) the fetch's lease must
// run out first, so the test stops at the fax listed pending.
func TestCrashDuringDocumentFetch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short mode")
	}
	bin := buildBinary(t)
	t.Run("sqlite", func(t *testing.T) { testCrashDuringDocumentFetch(t, bin, "") })
	t.Run("postgres", func(t *testing.T) { testCrashDuringDocumentFetch(t, bin, freshDatabase(t)) })
}

func testCrashDuringDocumentFetch(t *testing.T, bin, db string) {
	pdf := samplePDF(t, 2)
	// The document API holds every request until released, so each
	// gateway is in the middle of a fetch for as long as the test wants.
	var hits atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
			json.NewEncoder(w).Encode(base64.StdEncoding.EncodeToString(pdf))
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { once.Do(func() { close(release) }); api.Close() })
	dir, addr := t.TempDir(), freeAddr(t)
	env := []string{"FAXGATE_PUBLIC_URL=http://" + addr, "FAXGATE_WEBHOOK_ALLOW_NETWORKS=127.0.0.0/8", "GOFAX_TOKEN=gofax-token", "GOFAX_BASE_URL=" + api.URL,
		"GOFAX_WEBHOOK_USER=gofax", "GOFAX_WEBHOOK_PASS=pw"}
	if db != "" {
		env = append(env, "FAXGATE_DATABASE_URL="+db)
	}
	waitHits := func(n int32) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for hits.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("the document was asked for %d times within 20s, want %d", hits.Load(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	p := startProcess(t, bin, dir, addr, env...)
	body := "FaxID=4851777&Number=61712344321&Message=COMPLETE&SenderFaxID=0311223344&NumberOfPages=2"
	req, _ := http.NewRequest("POST", p.url+"/gofax-inbound", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", basicAuth("gofax", "pw"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("gofax webhook: got %d", resp.StatusCode)
	}
	waitHits(1)
	p.kill() // mid-fetch: the API still holds the request

	p = startProcess(t, bin, dir, addr, env...)
	listed := func() []faxObj {
		t.Helper()
		var l struct{ Data []faxObj }
		code, b := p.request("GET", "/v1/faxes?direction=inbound", "", nil)
		if code != http.StatusOK || json.Unmarshal(b, &l) != nil {
			t.Fatalf("list: got %d %s", code, b)
		}
		return l.Data
	}
	in := listed()
	if len(in) != 1 || in[0].DocumentStatus != "pending" || in[0].Status != "received" {
		t.Fatalf("after the crash: got %+v, want the received fax listed with its document pending", in)
	}
	id := in[0].ID
	if db != "" {
		return
	}
	// The restarted gateway fetches again; released, the fetch completes.
	waitHits(2)
	once.Do(func() { close(release) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		in = listed()
		if len(in) != 1 || in[0].ID != id {
			t.Fatalf("got %+v, want the one fax %s", in, id)
		}
		if in[0].DocumentStatus == "available" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("document_status %s after 30s, want available", in[0].DocumentStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, got := p.request("GET", "/v1/faxes/"+id+"/document", "", nil)
	if code != http.StatusOK || !bytes.Equal(got, pdf) {
		t.Errorf("document: got %d, %d bytes, want the %d fetched", code, len(got), len(pdf))
	}
	var evs struct{ Data []struct{ Type string } }
	_, b := p.request("GET", "/v1/faxes/"+id+"/events", "", nil)
	json.Unmarshal(b, &evs)
	var types []string
	for _, e := range evs.Data {
		types = append(types, e.Type)
	}
	if strings.Join(types, " ") != "fax.receiving fax.received" {
		t.Errorf("timeline: got %v, want [fax.receiving fax.received]", types)
	}
}
