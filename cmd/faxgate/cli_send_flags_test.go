package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCLISendMaxAttemptsAndCover: the CLI's --max-attempts and cover flags
// reach the API on a batch too (they were lost when the batch, cover and
// redial work met in cmdSend).
func TestCLISendMaxAttemptsAndCover(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	env := func(k string) string {
		return map[string]string{"FAXGATE_URL": g.url, "FAXGATE_API_KEY": adminKey}[k]
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	doc := filepath.Join(t.TempDir(), "a.txt")
	os.WriteFile(doc, []byte("one page\n"), 0o600)
	var out, errOut bytes.Buffer
	args := []string{"send", "--to", "+15552370001,+15552370002", "--max-attempts", "4", "--cover-to", "Dr. Lee", doc}
	if code := run(ctx, args, env, &out, &errOut); code != 0 {
		t.Fatalf("send: exit %d: %s", code, errOut.String())
	}
	var batch struct {
		Data []struct {
			MaxAttempts int `json:"max_attempts"`
			Pages       int `json:"pages"`
		} `json:"data"`
	}
	if err := json.Unmarshal(out.Bytes(), &batch); err != nil || len(batch.Data) != 2 {
		t.Fatalf("send printed %q (%v), want a batch of 2", out.String(), err)
	}
	for i, f := range batch.Data {
		if f.MaxAttempts != 4 || f.Pages != 2 {
			t.Errorf("fax %d: max_attempts %d, pages %d; want 4 and 2 (the cover and the page)", i, f.MaxAttempts, f.Pages)
		}
	}
}
