package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/config"
)

const carriersHelp = `faxgate carriers: check and set up the configured carriers.

  faxgate carriers check [--config FILE]
  faxgate carriers setup gofax [--dry-run] [--config FILE]

check proves each configured carrier's credentials against its API with one
cheap authenticated read (Phaxio: account status; Sinch: a one-fax list;
GoFax: account details; Asterisk: an AMI login; the simulator always passes)
and prints one line per carrier. The exit status is 1 if any check fails.

setup gofax points GoFax's account webhooks at this gateway: the fax-sent
webhook (PUT /v1.0/SendFax/Settings) at FAXGATE_PUBLIC_URL/gofax-callback and
the fax-received one (PUT /v1.0/Account/Details) at
FAXGATE_PUBLIC_URL/gofax-inbound, with GOFAX_WEBHOOK_USER and the first
GOFAX_WEBHOOK_PASS as their Basic auth when set. It prints each setting
before and after (secrets only as set or not set); --dry-run changes
nothing.`

// carrierCallTimeout bounds each carrier's check or setup.
const carrierCallTimeout = 30 * time.Second

func cmdCarriers(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(stderr, carriersHelp)
		if len(args) == 0 {
			return usageError("carriers needs a subcommand: check or setup")
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	var name string
	switch sub {
	case "check":
	case "setup":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return usageError("carriers setup needs a carrier: faxgate carriers setup gofax")
		}
		name, rest = rest[0], rest[1:]
	default:
		return usageError(fmt.Sprintf("carriers: unknown subcommand %q; want check or setup", sub))
	}
	fs := newFlags("carriers "+sub, carriersHelp, stderr)
	file := fs.String("config", "", "a KEY=VALUE settings file")
	dryRun := fs.Bool("dry-run", false, "setup: print what would change, change nothing")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("carriers %s: unexpected argument %q", sub, fs.Arg(0)))
	}
	cfg, err := config.Load(getenv, *file)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	// The carriers are built as serve builds them, without a store or
	// servers: a check or setup only calls out.
	m := &Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}
	cs, err := m.buildCarriers()
	if err != nil {
		return err
	}
	defer cs.close()
	secrets := carrierSecrets(cfg)
	if sub == "check" {
		return checkCarriers(ctx, cs, secrets, stdout)
	}
	return setupCarrier(ctx, cs, name, *dryRun, secrets, stdout)
}

// checkCarriers prints one line per enabled carrier and fails when any
// check did.
func checkCarriers(ctx context.Context, cs *carriers, secrets []string, stdout io.Writer) error {
	failed := 0
	for _, name := range cs.names {
		ch, ok := cs.checker(name)
		if !ok {
			fmt.Fprintf(stdout, "%s: not checked (faxgate cannot check this carrier)\n", name)
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, carrierCallTimeout)
		what, err := ch.Check(cctx)
		cancel()
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "%s: FAILED: %s\n", name, scrub(err.Error(), secrets))
			continue
		}
		fmt.Fprintf(stdout, "%s: ok (%s)\n", name, scrub(what, secrets))
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d carriers failed the check", failed, len(cs.names))
	}
	return nil
}

// setupCarrier sets the carrier's account up and prints each setting before
// and after.
func setupCarrier(ctx context.Context, cs *carriers, name string, dryRun bool, secrets []string, stdout io.Writer) error {
	s, ok := cs.setupper(name)
	if !ok {
		if _, enabled := cs.byName[name]; enabled {
			return usageError(fmt.Sprintf("carriers setup: faxgate cannot set %s up; only gofax", name))
		}
		return usageError(fmt.Sprintf("carriers setup: %s is not configured (for gofax, set GOFAX_TOKEN)", name))
	}
	cctx, cancel := context.WithTimeout(ctx, carrierCallTimeout)
	defer cancel()
	changes, err := s.Setup(cctx, dryRun)
	verb, same := "changed", 0
	if dryRun {
		verb = "would change"
	}
	for _, c := range changes {
		if c.Before == c.After {
			same++
			fmt.Fprintf(stdout, "%s: %s (unchanged)\n", c.Setting, shownValue(scrub(c.After, secrets)))
			continue
		}
		fmt.Fprintf(stdout, "%s: %s → %s (%s)\n", c.Setting, shownValue(scrub(c.Before, secrets)), shownValue(scrub(c.After, secrets)), verb)
	}
	if err != nil {
		return fmt.Errorf("%s", scrub(err.Error(), secrets))
	}
	if dryRun {
		fmt.Fprintln(stdout, "dry run: nothing was changed")
	} else if same == len(changes) {
		fmt.Fprintln(stdout, "nothing to change")
	}
	return nil
}

// shownValue prints an empty setting visibly.
func shownValue(v string) string {
	if v == "" {
		return "(empty)"
	}
	return v
}

// carrierSecrets are the configured carrier secrets, which nothing the
// command prints may hold (the carriers' errors already leave them out;
// this is the second line).
func carrierSecrets(cfg config.Config) []string {
	var s []string
	s = append(s, cfg.Phaxio.APISecrets...)
	s = append(s, cfg.Phaxio.WebhookTokens...)
	s = append(s, cfg.Sinch.KeySecret)
	s = append(s, cfg.Sinch.InboundBasicPass...)
	s = append(s, cfg.Sinch.HMACSecrets...)
	s = append(s, cfg.GoFax.Tokens...)
	s = append(s, cfg.GoFax.WebhookPass...)
	s = append(s, cfg.Asterisk.AMISecret)
	s = append(s, cfg.Asterisk.InboundSecrets...)
	return s
}

func scrub(text string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			text = strings.ReplaceAll(text, s, "[redacted]")
		}
	}
	return text
}
