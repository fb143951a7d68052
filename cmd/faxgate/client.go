package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/faxgate/faxgate/client"
)

// newAPIClient returns the Go client (package client) that the commands
// talking to a running gateway share, so that no HTTP code is written
// twice. url and key come from flags, else FAXGATE_URL and FAXGATE_API_KEY
// (or FAXGATE_ADMIN_KEY).
func newAPIClient(getenv func(string) string, url, key string) (*client.Client, error) {
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
	c, err := client.New(url, key, nil)
	if err != nil {
		return nil, usageError(err.Error())
	}
	return c, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// numbersFlag collects --to given several times, each a number or a comma
// separated list of numbers.
type numbersFlag []string

func (n *numbersFlag) String() string { return strings.Join(*n, ",") }

func (n *numbersFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*n = append(*n, s)
		}
	}
	return nil
}

func cmdSend(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("send", "faxgate send --to NUMBER [--to NUMBER…] [flags] FILE…: send PDF, TIFF, text, image or office files, joined in order, through a running gateway", stderr)
	var to numbersFlag
	fs.Var(&to, "to", "destination number in E.164, e.g. +15551234567 (required); repeat it or give a comma list to send one fax to each number under one batch_id")
	from := fs.String("from", "", "caller number in E.164")
	callback := fs.String("callback-url", "", "URL that receives this fax's events")
	provider := fs.String("provider", "", "carrier (default: the gateway's FAXGATE_PROVIDER)")
	header := fs.String("header-text", "", "header line on each page (at most 50 characters)")
	idem := fs.String("idempotency-key", "", "repeat-safe key: sending again with it returns the same fax")
	coverTo := fs.String("cover-to", "", "cover page: who the fax is for (any --cover-* flag adds a cover page)")
	coverFrom := fs.String("cover-from", "", "cover page: who sends it")
	coverSubject := fs.String("cover-subject", "", "cover page: subject")
	coverMessage := fs.String("cover-message", "", "cover page: message (at most 4000 characters)")
	coverConfidential := fs.Bool("cover-confidential", false, "cover page: add the confidential health information notice")
	maxAttempts := fs.Int("max-attempts", 0, "dial attempts in all for a busy or unanswered number, 1 to 10 (default: the gateway's FAXGATE_REDIAL_ATTEMPTS)")
	url := fs.String("url", "", "gateway URL (default $FAXGATE_URL or http://localhost:8080)")
	key := fs.String("key", "", "API key (default $FAXGATE_API_KEY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(to) == 0 || fs.NArg() == 0 {
		fs.Usage()
		return usageError("send needs --to and at least one FILE")
	}
	c, err := newAPIClient(getenv, *url, *key)
	if err != nil {
		return err
	}
	req := client.SendRequest{From: *from, CallbackURL: *callback, Provider: *provider, HeaderText: *header, IdempotencyKey: *idem,
		CoverTo: *coverTo, CoverFrom: *coverFrom, CoverSubject: *coverSubject, CoverMessage: *coverMessage,
		CoverConfidential: *coverConfidential, MaxAttempts: *maxAttempts}
	for _, path := range fs.Args() {
		f, err := os.Open(path)
		if err != nil {
			return usageError(err.Error())
		}
		defer f.Close()
		req.Files = append(req.Files, client.File{Name: filepath.Base(path), Body: f})
	}
	if len(to) == 1 {
		req.To = to[0]
		f, err := c.SendFax(ctx, req)
		if err != nil {
			return err
		}
		return printJSON(stdout, f)
	}
	req.Recipients = to
	b, err := c.SendBatch(ctx, req)
	if err != nil {
		return err
	}
	return printJSON(stdout, b)
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
	var f *client.Fax
	if *wait {
		f, err = c.WaitFax(ctx, fs.Arg(0), 500*time.Millisecond)
	} else {
		f, err = c.GetFax(ctx, fs.Arg(0))
	}
	if err != nil {
		return err
	}
	return printJSON(stdout, f)
}
