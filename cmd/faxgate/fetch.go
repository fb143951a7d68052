package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
)

// maxReceived caps a received document fetched from a carrier.
const maxReceived = 40 << 20

// hostAllowed reports whether host matches one of patterns: an exact name,
// or "*.example.com" for example.com and its subdomains.
func hostAllowed(host string, patterns []string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, p := range patterns {
		p = strings.ToLower(strings.TrimSpace(p))
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			if host == rest || strings.HasSuffix(host, "."+rest) {
				return true
			}
			continue
		}
		if host == p {
			return true
		}
	}
	return false
}

// fetchFile runs a request for a received document through the
// outbound-safe client, classifying failures: a carrier that is down or not
// ready is retried (unavailable), anything else ends the fetch.
func fetchFile(client *http.Client, req *http.Request) ([]byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "not allowed") {
			return nil, fax.Errorf(fax.ECodeUnprocessable, "the document's address is not allowed")
		}
		return nil, fax.Errorf(fax.ECodeUnavailable, "the carrier could not be reached")
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		// Carriers answer 404 until a just-received file is ready.
		return nil, fax.Errorf(fax.ECodeUnavailable, "the carrier answered %d", resp.StatusCode)
	default:
		return nil, fax.Errorf(fax.ECodeUnprocessable, "the carrier answered %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReceived+1))
	if err != nil {
		return nil, fax.Errorf(fax.ECodeUnavailable, "the download was cut off")
	}
	if len(b) > maxReceived {
		return nil, fax.Errorf(fax.ECodeUnprocessable, "the document is larger than %d bytes", maxReceived)
	}
	return b, nil
}

// resolve fetches a received document that did not come inside the
// webhook: an Asterisk spool file, a carrier API file, or a file URL on the
// carrier's own hosts (fetched with its credentials; any other host is
// refused, so a webhook cannot make faxgate fetch arbitrary URLs).
func (c *carriers) resolve(ctx context.Context, client *http.Client, u *fax.Update) error {
	d := u.Document
	var b []byte
	var err error
	switch {
	case d.TIFFPath != "":
		if c.asterisk == nil || u.Provider != "asterisk" {
			return fax.Errorf(fax.ECodeUnprocessable, "no spool directory is configured")
		}
		f, oerr := c.asterisk.OpenSpoolFile(d.TIFFPath)
		if oerr != nil {
			return fax.Errorf(fax.ECodeUnprocessable, "tiff_path cannot be read inside ASTERISK_SPOOL_DIR")
		}
		defer f.Close()
		b, err = io.ReadAll(io.LimitReader(f, maxReceived+1))
		if err != nil || len(b) > maxReceived {
			return fax.Errorf(fax.ECodeUnprocessable, "tiff_path could not be read")
		}
	case d.URL != "":
		pu, perr := url.Parse(d.URL)
		if perr != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.User != nil {
			return fax.Errorf(fax.ECodeUnprocessable, "file_url is not an http(s) URL")
		}
		req, rerr := http.NewRequestWithContext(ctx, http.MethodGet, d.URL, nil)
		if rerr != nil {
			return fax.Errorf(fax.ECodeUnprocessable, "file_url is not valid")
		}
		switch {
		case u.Provider == "phaxio" && hostAllowed(pu.Hostname(), c.phaxioFileHosts):
			c.phaxio.Authorize(req)
		case u.Provider == "sinch" && hostAllowed(pu.Hostname(), c.sinchFileHosts):
			c.sinch.Authorize(req)
		default:
			return fax.Errorf(fax.ECodeUnprocessable, "file_url host %s is not one of the carrier's file hosts", pu.Hostname())
		}
		b, err = fetchFile(client, req)
	case d.FetchID != "":
		var req *http.Request
		switch u.Provider {
		case "gofax":
			if c.gofax == nil {
				return fax.Errorf(fax.ECodeUnprocessable, "GoFax is not configured")
			}
			b, err = c.gofax.FetchReceived(ctx, client, d.FetchID)
			if err != nil {
				err = fax.Errorf(fax.ECodeUnavailable, "GoFax did not return the document yet")
			}
		case "phaxio":
			req, err = c.phaxio.FileRequest(ctx, d.FetchID)
		case "sinch":
			req, err = c.sinch.FileRequest(ctx, d.FetchID)
		default:
			return fax.Errorf(fax.ECodeUnprocessable, "no way to fetch documents from %s", u.Provider)
		}
		if err == nil && req != nil {
			b, err = fetchFile(client, req)
		}
	default:
		return fax.Errorf(fax.ECodeUnprocessable, "the webhook named no document")
	}
	if err != nil {
		return err
	}
	d.Bytes = b
	return nil
}
