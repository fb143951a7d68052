// Command faxgate is the fax gateway: `faxgate serve` runs it; the other
// subcommands are clients and administration tools. This is the only
// package that imports every adapter; Main wires them together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// usage is the top-level help.
const usage = `faxgate: a self-hosted fax gateway.

Usage:
  faxgate serve [--config FILE]          run the gateway
  faxgate send --to NUMBER… FILE…        send documents to one number or several through a running gateway
  faxgate status [--wait] ID             show a fax
  faxgate listen [--addr ADDR]           receive a gateway's webhooks here, verifying signatures
  faxgate mcp                            serve faxgate's MCP tools over stdio to an assistant
  faxgate keys create|list|revoke        manage API keys in the database
  faxgate bench [flags]                  measure ingest, delivery and end-to-end throughput on this machine
  faxgate migrate [--config FILE]        apply database migrations and exit
  faxgate documents re-encrypt           move stored documents to the first FAXGATE_DOCUMENT_KEY
  faxgate carriers check                 verify each configured carrier's credentials against its API
  faxgate carriers setup gofax           register faxgate's webhook URLs with GoFax (--dry-run to preview)
  faxgate config check [--config FILE]   print the effective settings, secrets redacted
  faxgate version                        print the version and build information

Run 'faxgate COMMAND --help' for a command's flags. Settings come from the
environment (see the README); 'send' and 'status' use FAXGATE_URL (default
http://localhost:8080) and FAXGATE_API_KEY.
`

// gcPercent is the garbage collector's GOGC unless the environment sets
// one. The gateway's live heap is small (about 10 MB under load), so the
// default of 100 collects every few MB allocated; at 400 the bench's ingest
// took 4–5% more callbacks a second (the collector's share of the CPU
// went to them) for a peak resident set of about 62 MB instead of 45 (see
// BENCHMARKS.md). GOMEMLIMIT still caps the heap where memory is tight.
const gcPercent = 400

// setGC applies gcPercent unless the environment chose a GOGC.
func setGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

func main() {
	setGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], getenv, stdout, stderr)
	case "send":
		err = cmdSend(ctx, args[1:], getenv, stdout, stderr)
	case "status":
		err = cmdStatus(ctx, args[1:], getenv, stdout, stderr)
	case "listen":
		err = cmdListen(ctx, args[1:], getenv, stdout, stderr)
	case "mcp":
		err = cmdMCP(ctx, args[1:], getenv, stdout, stderr)
	case "bench":
		err = cmdBench(ctx, args[1:], getenv, stdout, stderr)
	case "keys":
		err = cmdKeys(ctx, args[1:], getenv, stdout, stderr)
	case "documents":
		err = cmdDocuments(ctx, args[1:], getenv, stdout, stderr)
	case "carriers":
		err = cmdCarriers(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, args[1:], getenv, stdout, stderr)
	case "config":
		err = cmdConfig(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version":
		err = cmdVersion(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "faxgate: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "faxgate: %s\n", ue)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "faxgate: %v\n", err)
		return 1
	}
	return 0
}

// usageError is a mistake in the command line (exit code 2).
type usageError string

func (e usageError) Error() string { return string(e) }

func newFlags(name, help string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\nFlags:\n", help)
		fs.PrintDefaults()
	}
	return fs
}
