package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/api"
	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

const keysHelp = `faxgate keys: manage API keys directly in the database (run where faxgate's data is).

  faxgate keys create --name NAME --scopes fax:send,fax:read,webhooks:manage,keys:manage,metrics:read
  faxgate keys list
  faxgate keys revoke KEY_ID

The key is printed once by create; only its hash is stored. These commands
act with the database's own authority, as the operator who holds it; over the
API, a key may grant only the scopes it holds.`

func openStore(ctx context.Context, getenv func(string) string, file string) (store, error) {
	cfg, err := config.Load(getenv, file)
	if err != nil {
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	return openStoreFor(ctx, cfg, time.Now, storeOptions{})
}

func cmdKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(stderr, keysHelp)
		if len(args) == 0 {
			return usageError("keys needs a subcommand: create, list or revoke")
		}
		return nil
	}
	fs := newFlags("keys "+args[0], keysHelp, stderr)
	file := fs.String("config", "", "a KEY=VALUE settings file")
	name := fs.String("name", "", "the key's name (create)")
	scopes := fs.String("scopes", "", "comma-separated scopes (create)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	switch args[0] {
	case "create":
		if *name == "" || *scopes == "" {
			return usageError("keys create needs --name and --scopes")
		}
		var sc []fax.Scope
		for _, s := range strings.Split(*scopes, ",") {
			s = strings.TrimSpace(s)
			if !fax.Scope(s).Valid() {
				return usageError(fmt.Sprintf("unknown scope %q; want some of %s", s, fax.ScopeNames()))
			}
			sc = append(sc, fax.Scope(s))
		}
		st, err := openStore(ctx, getenv, *file)
		if err != nil {
			return err
		}
		defer st.Close()
		key, hash, prefix := api.NewAPIKey()
		k, err := st.CreateAPIKey(ctx, &fax.APIKey{Name: *name, Hash: hash, Prefix: prefix, Scopes: sc})
		if err != nil {
			return err
		}
		out := wire.FromAPIKey(k)
		out.Key = key
		return enc.Encode(out)
	case "list":
		st, err := openStore(ctx, getenv, *file)
		if err != nil {
			return err
		}
		defer st.Close()
		ks, err := st.FindAPIKeys(ctx)
		if err != nil {
			return err
		}
		out := make([]wire.APIKey, 0, len(ks))
		for _, k := range ks {
			out = append(out, wire.FromAPIKey(k))
		}
		return enc.Encode(out)
	case "revoke":
		if fs.NArg() != 1 {
			return usageError("keys revoke needs one KEY_ID")
		}
		st, err := openStore(ctx, getenv, *file)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.DeleteAPIKey(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", fs.Arg(0))
		return nil
	}
	return usageError(fmt.Sprintf("unknown keys subcommand %q: want create, list or revoke", args[0]))
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "faxgate migrate [--config FILE]: apply the database migrations and exit", stderr)
	file := fs.String("config", "", "a KEY=VALUE settings file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openStore(ctx, getenv, *file)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "database is up to date")
	return st.Close()
}

func cmdConfig(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		return usageError("usage: faxgate config check [--config FILE]")
	}
	fs := newFlags("config check", "faxgate config check [--config FILE]: print the effective settings (secrets redacted) and every problem", stderr)
	file := fs.String("config", "", "a KEY=VALUE settings file")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load(getenv, *file)
	for _, kv := range cfg.Redacted(getenv, *file) {
		fmt.Fprintf(stdout, "%s=%s\n", kv[0], kv[1])
	}
	if err != nil {
		return fmt.Errorf("configuration problems:\n%w", err)
	}
	fmt.Fprintln(stdout, "# configuration OK")
	return nil
}
