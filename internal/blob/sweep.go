package blob

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Sweep deletes what a crash can leave in the directory: temporary files
// of interrupted writes, and documents no fax refers to (stored just before
// a process died, before the fax that names them was committed). Only
// entries older than minAge are touched, so that documents being stored
// right now are safe, and documents older than a week are left alone (they
// were checked by earlier sweeps). It returns how many files it removed.
func (d *Dir) Sweep(ctx context.Context, minAge time.Duration, now time.Time, referenced func(ctx context.Context, key string) (bool, error)) (int, error) {
	removed := 0
	err := filepath.WalkDir(d.root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil || now.Sub(info.ModTime()) < minAge {
			return nil
		}
		rel, err := filepath.Rel(d.root, path)
		if err != nil {
			return nil
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(e.Name(), ".tmp-") {
			// Orphans appear only around a crash and the sweep runs hourly:
			// documents a week old were checked long ago, so the sweep
			// stays cheap however many documents are kept.
			if now.Sub(info.ModTime()) > 7*24*time.Hour {
				return nil
			}
			ok, err := referenced(ctx, key)
			if err != nil {
				return err
			}
			if ok {
				return nil
			}
		}
		if err := os.Remove(path); err == nil {
			removed++
		}
		return nil
	})
	return removed, err
}
