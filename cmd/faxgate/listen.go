package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/faxgate/faxgate/internal/webhook"
)

// cmdListen is a developer's webhook receiver: it registers itself as an
// endpoint of a running gateway, prints each event it receives with the
// outcome of verifying its signature, and removes the endpoint on exit.
func cmdListen(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("listen", "faxgate listen: receive this gateway's webhooks here and verify their signatures (needs webhooks:manage and, for loopback, FAXGATE_WEBHOOK_ALLOW_NETWORKS on the gateway)", stderr)
	addr := fs.String("addr", "127.0.0.1:9000", "address to receive webhooks on")
	inflight := fs.Bool("inflight", false, "also receive inflight events (queued, sending, page_sent)")
	url := fs.String("url", "", "gateway URL (default $FAXGATE_URL or http://localhost:8080)")
	key := fs.String("key", "", "API key (default $FAXGATE_API_KEY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := newAPIClient(getenv, *url, *key)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	var mu sync.Mutex
	var secret string
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mu.Lock()
		sec := secret
		mu.Unlock()
		verdict := "signature ok"
		if err := webhook.Verify(sec, r.Header, body, time.Now(), 0); err != nil {
			verdict = "SIGNATURE INVALID"
		}
		var ev struct {
			Type string `json:"type"`
			Data struct {
				ID     string `json:"id"`
				Status string `json:"status"`
				Page   int    `json:"page"`
			} `json:"data"`
		}
		json.Unmarshal(body, &ev)
		extra := ""
		if ev.Data.Page > 0 {
			extra = fmt.Sprintf(" page %d", ev.Data.Page)
		}
		fmt.Fprintf(stdout, "%s  %-18s %s %s%s  (%s)\n", time.Now().Format("15:04:05"), ev.Type, ev.Data.ID, ev.Data.Status, extra, verdict)
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	hookURL := "http://" + ln.Addr().String() + "/"
	body := fmt.Sprintf(`{"url":%q,"inflight":%t,"description":"faxgate listen"}`, hookURL, *inflight)
	ep, err := c.do(ctx, http.MethodPost, "/v1/webhook-endpoints", "application/json", strings.NewReader(body), nil)
	if err != nil {
		return fmt.Errorf("register the endpoint: %w", err)
	}
	mu.Lock()
	secret, _ = ep["secret"].(string)
	mu.Unlock()
	id, _ := ep["id"].(string)
	fmt.Fprintf(stdout, "listening on %s as webhook endpoint %s; press Ctrl-C to stop\n", hookURL, id)
	<-ctx.Done()
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.do(dctx, http.MethodDelete, "/v1/webhook-endpoints/"+id, "", nil, nil)
	fmt.Fprintf(stdout, "removed webhook endpoint %s\n", id)
	return nil
}
