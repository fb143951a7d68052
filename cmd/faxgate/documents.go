package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/faxgate/faxgate/internal/blob"
	"github.com/faxgate/faxgate/internal/config"
)

const documentsHelp = `faxgate documents: administer stored documents (run where faxgate's data is).

  faxgate documents re-encrypt [--config FILE]

re-encrypt rewrites every stored document (FAXGATE_BLOB_URL, or the data
directory) under the first key of FAXGATE_DOCUMENT_KEY: documents stored in
clear and documents under older keys of the list. Each document is replaced
atomically, so the command is safe to interrupt, and a second run skips what
is done. Run it with the gateway stopped: it takes the data directory's lock,
and a document deleted while it runs could otherwise be written back. Once it
reports no error, older keys may be removed from the list.`

func cmdDocuments(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(stderr, documentsHelp)
		if len(args) == 0 {
			return usageError("documents needs a subcommand: re-encrypt")
		}
		return nil
	}
	if args[0] != "re-encrypt" {
		return usageError(fmt.Sprintf("documents: unknown subcommand %q; want re-encrypt", args[0]))
	}
	fs := newFlags("documents re-encrypt", documentsHelp, stderr)
	file := fs.String("config", "", "a KEY=VALUE settings file")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load(getenv, *file)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if len(cfg.DocumentKeys) == 0 {
		return usageError("documents re-encrypt needs FAXGATE_DOCUMENT_KEY (the key to move documents to, first in the list)")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("FAXGATE_DATA_DIR: %w", err)
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Close()
	inner, err := blob.Open(ctx, cfg.BlobURL, filepath.Join(cfg.DataDir, "documents"))
	if err != nil {
		return err
	}
	store, err := blob.NewSealed(inner, cfg.DocumentKeys)
	if err != nil {
		return err
	}
	res, err := store.Reseal(ctx, nil)
	fmt.Fprintf(stdout, "re-encrypted %d documents; %d already under the first key; %d deleted meanwhile\n", res.Resealed, res.Current, res.Vanished)
	if err != nil {
		return fmt.Errorf("documents re-encrypt stopped (run it again to continue): %w", err)
	}
	return nil
}
