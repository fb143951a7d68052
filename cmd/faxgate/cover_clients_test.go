package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCoverPageFromEveryClient: the CLI's --cover-* flags, the MCP
// send_fax tool and the console's send form each send a cover page that
// the stored document starts with.
func TestCoverPageFromEveryClient(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wantCover := func(client, id, to string) {
		t.Helper()
		var f faxObj
		if g.do("GET", "/v1/faxes/"+id, nil, &f); f.Pages != 2 {
			t.Fatalf("%s: got pages %d, want 2 with the cover", client, f.Pages)
		}
		var pdf []byte
		g.do("GET", "/v1/faxes/"+id+"/document", nil, &pdf)
		page1 := squashed(poppler(t, "pdftotext", pdf, "-layout", "-f", "1", "-l", "1"))
		for _, want := range []string{"To: " + to, "Subject: Results", "Pages: 2", "Call us.", "confidential health information"} {
			if !strings.Contains(page1, want) {
				t.Errorf("%s: page 1 reads %q; want %q in it", client, page1, want)
			}
		}
	}

	doc := filepath.Join(t.TempDir(), "doc.txt")
	os.WriteFile(doc, textDoc, 0o600)
	env := func(k string) string {
		return map[string]string{"FAXGATE_URL": g.url, "FAXGATE_API_KEY": adminKey}[k]
	}
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"send", "--to", "+15551230100", "--cover-to", "CLI desk", "--cover-subject", "Results",
		"--cover-message", "Call us.", "--cover-confidential", doc}, env, &out, &errOut); code != 0 {
		t.Fatalf("send: exit %d: %s", code, errOut.String())
	}
	var sent struct{ ID string }
	json.Unmarshal(out.Bytes(), &sent)
	wantCover("faxgate send", sent.ID, "CLI desk")

	cs := mcpSession(t, ctx, g, adminKey)
	text, _ := callTool(t, ctx, cs, "send_fax", map[string]any{"to": "+15551230100", "text": "Hello.\n", "cover_to": "MCP desk",
		"cover_subject": "Results", "cover_message": "Call us.", "cover_confidential": true}, false)
	json.Unmarshal([]byte(text), &sent)
	wantCover("send_fax", sent.ID, "MCP desk")

	b := &browser{t: t, g: g}
	b.signIn(adminKey)
	mb := multipartSend(map[string]string{"csrf": b.csrf(), "to": "+15551230100", "cover_to": "Console desk", "cover_subject": "Results",
		"cover_message": "Call us.", "cover_confidential": "true"}, textDoc)
	req, _ := http.NewRequest("POST", g.url+"/console/send", bytes.NewReader(mb.buf.Bytes()))
	req.Header.Set("Content-Type", mb.ct)
	req.AddCookie(b.cookie)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/faxes/fax_") {
		t.Fatalf("console send: got %d to %q, want the fax's page", resp.StatusCode, loc)
	}
	wantCover("console", strings.TrimPrefix(strings.Split(loc, "?")[0], "/console/faxes/"), "Console desk")
}
