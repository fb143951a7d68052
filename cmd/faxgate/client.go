package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// apiClient talks to a running gateway for `send` and `status`.
type apiClient struct {
	base string
	key  string
	hc   *http.Client
}

func newAPIClient(getenv func(string) string, url, key string) (*apiClient, error) {
	if url == "" {
		url = getenv("FAXGATE_URL")
	}
	if url == "" {
		url = "http://localhost:8080"
	}
	if key == "" {
		key = getenv("FAXGATE_API_KEY")
	}
	if key == "" {
		key = getenv("FAXGATE_ADMIN_KEY")
	}
	if key == "" {
		return nil, usageError("set FAXGATE_API_KEY (or pass --key) to an API key")
	}
	return &apiClient{base: strings.TrimRight(url, "/"), key: key, hc: &http.Client{Timeout: 2 * time.Minute}}, nil
}

func (c *apiClient) do(ctx context.Context, method, path, contentType string, body io.Reader, hdr map[string]string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach faxgate at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 10<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("faxgate answered %s with a body that is not JSON", resp.Status)
	}
	if resp.StatusCode >= 300 {
		if e, ok := out["error"].(map[string]any); ok {
			return nil, fmt.Errorf("%s: %v (%v)", resp.Status, e["message"], e["code"])
		}
		return nil, fmt.Errorf("faxgate answered %s", resp.Status)
	}
	return out, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func cmdSend(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("send", "faxgate send --to NUMBER [flags] FILE: send a PDF, TIFF or text file through a running gateway", stderr)
	to := fs.String("to", "", "destination number in E.164, e.g. +15551234567 (required)")
	from := fs.String("from", "", "caller number in E.164")
	callback := fs.String("callback-url", "", "URL that receives this fax's events")
	provider := fs.String("provider", "", "carrier (default: the gateway's FAXGATE_PROVIDER)")
	header := fs.String("header-text", "", "header line on each page (at most 50 characters)")
	idem := fs.String("idempotency-key", "", "repeat-safe key: sending again with it returns the same fax")
	url := fs.String("url", "", "gateway URL (default $FAXGATE_URL or http://localhost:8080)")
	key := fs.String("key", "", "API key (default $FAXGATE_API_KEY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" || fs.NArg() != 1 {
		fs.Usage()
		return usageError("send needs --to and one FILE")
	}
	c, err := newAPIClient(getenv, *url, *key)
	if err != nil {
		return err
	}
	doc, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"to": *to, "from": *from, "callback_url": *callback, "provider": *provider, "header_text": *header} {
		if v != "" {
			mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("file", filepath.Base(fs.Arg(0)))
	fw.Write(doc)
	mw.Close()
	hdr := map[string]string{}
	if *idem != "" {
		hdr["Idempotency-Key"] = *idem
	}
	out, err := c.do(ctx, http.MethodPost, "/v1/faxes", mw.FormDataContentType(), &buf, hdr)
	if err != nil {
		return err
	}
	return printJSON(stdout, out)
}

func cmdStatus(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("status", "faxgate status [--wait] ID: show a fax", stderr)
	wait := fs.Bool("wait", false, "wait until the fax is final")
	url := fs.String("url", "", "gateway URL (default $FAXGATE_URL or http://localhost:8080)")
	key := fs.String("key", "", "API key (default $FAXGATE_API_KEY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError("status needs one fax ID")
	}
	c, err := newAPIClient(getenv, *url, *key)
	if err != nil {
		return err
	}
	for {
		out, err := c.do(ctx, http.MethodGet, "/v1/faxes/"+fs.Arg(0), "", nil, nil)
		if err != nil {
			return err
		}
		switch out["status"] {
		case "queued", "sending":
			if *wait {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(500 * time.Millisecond):
				}
				continue
			}
		}
		return printJSON(stdout, out)
	}
}
