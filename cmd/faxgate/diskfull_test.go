//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestDiskFull: when faxgate cannot write to its disk, it answers 503 to
// sends and carrier webhooks (so clients and carriers retry) and stores
// nothing of them; when space is back it carries on by itself, without a
// restart. The disk filling up is the kernel refusing the gateway's writes
// past a file size limit (RLIMIT_FSIZE, set on the running process with
// prlimit): its writes fail with EFBIG as they would with ENOSPC, through
// the same paths (SQLite's write-ahead log, the document files), without
// needing a small filesystem to be mounted.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	const token = "disk-full-phaxio-token"
	p := startProcess(t, bin, dir, addr, "FAXGATE_PUBLIC_URL=http://"+addr, "PHAXIO_API_KEY=k", "PHAXIO_API_SECRET=s",
		"PHAXIO_WEBHOOK_TOKEN="+token, "FAXGATE_LOG_LEVEL=debug")
	pid := p.cmd.Process.Pid
	pdf := samplePDF(t, 1)

	send := func(to string) (int, faxObj) {
		body := multipartSend(map[string]string{"to": to}, textDoc)
		code, b := p.request("POST", "/v1/faxes", body.ct, bytes.NewReader(body.buf.Bytes()))
		var f faxObj
		json.Unmarshal(b, &f)
		return code, f
	}
	inbound := func(id int) (int, []byte) {
		faxJSON := fmt.Sprintf(`{"id":%d,"direction":"received","num_pages":1,"status":"success","from_number":"+15557000001","to_number":"+15558000001"}`, id)
		ct, body, sig := phaxioInboundMarked(token, p.url+"/phaxio-inbound", faxJSON, pdf)
		req, _ := http.NewRequest("POST", p.url+"/phaxio-inbound", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-Phaxio-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("inbound: %v", err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
		return resp.StatusCode, b.Bytes()
	}
	code, before := send("+15551234567")
	if code != http.StatusAccepted {
		t.Fatalf("send: %d", code)
	}
	p.waitSent(before.ID, time.Now().Add(20*time.Second))
	if code, b := inbound(700001); code != http.StatusOK {
		t.Fatalf("inbound: %d %s", code, b)
	}

	// The disk is full: no file of the gateway's may grow past 4 KiB, so
	// no commit fits in the write-ahead log and no document in its file.
	full := unix.Rlimit{Cur: 4096, Max: unix.RLIM_INFINITY}
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &full, nil); err != nil {
		t.Fatalf("prlimit: %v", err)
	}
	var e errorBody
	for i := range 3 {
		code, f := send(fmt.Sprintf("+1555123%04d", 7000+i))
		if code != http.StatusServiceUnavailable {
			t.Errorf("send with the disk full: got %d (%s), want 503", code, f.ID)
		}
		if code, b := inbound(700100 + i); code != http.StatusServiceUnavailable || json.Unmarshal(b, &e) != nil || e.Error.Code != "unavailable" {
			t.Errorf("carrier webhook with the disk full: got %d %s, want 503 unavailable", code, b)
		}
	}
	// A write with no document (an API key) fails the same way.
	code, b := p.request("POST", "/v1/api-keys", "application/json", bytes.NewReader([]byte(`{"name":"k","scopes":["fax:read"]}`)))
	if code != http.StatusServiceUnavailable {
		t.Errorf("create a key with the disk full: got %d %s, want 503", code, b)
	}
	// Reads still work.
	if code, _ := p.request("GET", "/v1/faxes/"+before.ID, "", nil); code != http.StatusOK {
		t.Errorf("read with the disk full: got %d", code)
	}

	// Space is back: the same requests succeed, without a restart.
	free := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &free, nil); err != nil {
		t.Fatalf("prlimit: %v", err)
	}
	code, after := send("+15551234569")
	if code != http.StatusAccepted {
		t.Fatalf("send once space is back: got %d", code)
	}
	p.waitSent(after.ID, time.Now().Add(20*time.Second))
	// The carrier retries what was refused.
	for i := range 3 {
		if code, b := inbound(700100 + i); code != http.StatusOK {
			t.Errorf("the carrier's retry once space is back: got %d %s, want 200", code, b)
		}
	}
	if p.cmd.ProcessState != nil {
		t.Fatalf("faxgate exited: %v", p.cmd.ProcessState)
	}

	// Nothing of the refused requests was stored: two sends, four received
	// faxes (the first and the three retried), and no document files but
	// theirs. (A received document is stored under a key derived from the
	// carrier's event, so the retry wrote the same file again; a document
	// stored for a request whose commit then failed, and never retried,
	// is removed by the retention sweep of unreferenced files.)
	var list struct{ Data []faxObj }
	_, b = p.request("GET", "/v1/faxes?direction=outbound", "", nil)
	json.Unmarshal(b, &list)
	if len(list.Data) != 2 {
		t.Errorf("%d outbound faxes, want 2: %s", len(list.Data), b)
	}
	_, b = p.request("GET", "/v1/faxes?direction=inbound", "", nil)
	list.Data = nil
	json.Unmarshal(b, &list)
	if len(list.Data) != 4 {
		t.Errorf("%d inbound faxes, want 4: %s", len(list.Data), b)
	}
	var docs []string
	filepath.WalkDir(filepath.Join(dir, "documents"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			docs = append(docs, path)
		}
		return nil
	})
	if len(docs) != 6 {
		t.Errorf("%d document files, want 6 (two sent, four received): %v", len(docs), docs)
	}
}
