package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/faxgate/faxgate/client"
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
		if v, err := client.NewVerifier(sec); err != nil || v.Verify(r.Header, body) != nil {
			verdict = "SIGNATURE INVALID"
		}
		typ, id, status, extra := "?", "", "", ""
		if ev, err := client.ParseWebhookEvent(body); err == nil {
			typ = ev.Type
			if f, err := ev.Fax(); err == nil {
				id, status = f.ID, f.Status
				if f.Page > 0 {
					extra = fmt.Sprintf(" page %d", f.Page)
				}
			}
		}
		fmt.Fprintf(stdout, "%s  %-18s %s %s%s  (%s)\n", time.Now().Format("15:04:05"), typ, id, status, extra, verdict)
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	hookURL := "http://" + ln.Addr().String() + "/"
	ep, err := c.CreateEndpoint(ctx, client.EndpointCreate{URL: hookURL, Inflight: *inflight, Description: "faxgate listen"})
	if err != nil {
		return fmt.Errorf("register the endpoint: %w", err)
	}
	mu.Lock()
	secret = ep.Secret
	mu.Unlock()
	id := ep.ID
	fmt.Fprintf(stdout, "listening on %s as webhook endpoint %s; press Ctrl-C to stop\n", hookURL, id)
	<-ctx.Done()
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.DeleteEndpoint(dctx, id)
	fmt.Fprintf(stdout, "removed webhook endpoint %s\n", id)
	return nil
}
