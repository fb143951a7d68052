package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/faxgate/faxgate/client"
	"github.com/faxgate/faxgate/internal/mcp"
)

// cmdMCP serves faxgate's MCP tools over stdio to an assistant, calling a
// running gateway (FAXGATE_URL, FAXGATE_API_KEY) through the Go client.
func cmdMCP(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("mcp", "faxgate mcp: serve faxgate's MCP tools over stdio, acting on a running gateway as FAXGATE_API_KEY", stderr)
	url := fs.String("url", "", "gateway URL (default $FAXGATE_URL or http://localhost:8080)")
	key := fs.String("key", "", "API key (default $FAXGATE_API_KEY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := newAPIClient(getenv, *url, *key)
	if err != nil {
		return err
	}
	// Numbers are shown only to a key that may read faxes; a key without
	// fax:read is refused the list.
	canRead := true
	if _, err := c.ListFaxes(ctx, client.FaxListParams{Limit: 1}); err != nil {
		var e *client.Error
		if !errors.As(err, &e) || e.Status != http.StatusForbidden {
			return err
		}
		canRead = false
	}
	srv := mcp.New(mcp.Options{Simulator: true, Version: version,
		ClientFunc: func(context.Context, http.Header) (*client.Client, bool, error) { return c, canRead, nil }})
	return srv.Run(ctx, &sdk.IOTransport{Reader: os.Stdin, Writer: nopWriteCloser{stdout}})
}

// nopWriteCloser lets the transport close stdout without closing the
// process's.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// cutBearer splits "Bearer KEY".
func cutBearer(v string) (scheme, key string, ok bool) {
	scheme, key, ok = strings.Cut(v, " ")
	return scheme, strings.TrimSpace(key), ok && strings.EqualFold(scheme, "Bearer")
}
