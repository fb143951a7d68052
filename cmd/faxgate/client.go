package main

import (
	"context"
	"encoding/json"
	"io"
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

func cmdSend(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("send", "faxgate send --to NUMBER [flags] FILE: send a PDF, TIFF or text file through a running gateway", stderr)
	to := fs.String("to", "", "destination number in E.164, e.g. +15551234567 (required)")
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
	f, err := c.SendFaxFile(ctx, fs.Arg(0), client.SendRequest{To: *to, From: *from, CallbackURL: *callback,
		Provider: *provider, HeaderText: *header, IdempotencyKey: *idem, CoverTo: *coverTo, CoverFrom: *coverFrom,
		CoverSubject: *coverSubject, CoverMessage: *coverMessage, CoverConfidential: *coverConfidential})
	if err != nil {
		return err
	}
	return printJSON(stdout, f)
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
