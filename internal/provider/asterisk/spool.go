package asterisk

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
)

// maxPathLen bounds tiff_path; Linux's PATH_MAX.
const maxPathLen = 4096

// ResolveSpoolPath returns the real (symlink-free), absolute path of a regular file inside
// ASTERISK_SPOOL_DIR, or a *fax.Error invalid. The path comes from an HTTP
// body, so it is treated as hostile: a relative path is taken relative to the
// spool, and anything that ends up elsewhere — "..", an absolute path outside,
// a symlink whose target escapes — is refused, as are directories, devices
// and missing files. A path that is not even lexically inside the spool is
// refused before the filesystem is consulted, so requests cannot probe it.
//
// The answer holds at the time of the call; a reader opening the file later
// should use OpenSpoolFile, which keeps the confinement at open time.
func (p *Provider) ResolveSpoolPath(path string) (string, error) {
	outside := fax.Errorf(fax.ECodeInvalid, "tiff_path must be inside ASTERISK_SPOOL_DIR")
	switch {
	case path == "":
		return "", fax.Errorf(fax.ECodeInvalid, "tiff_path is empty")
	case len(path) > maxPathLen:
		return "", fax.Errorf(fax.ECodeInvalid, "tiff_path is longer than %d bytes", maxPathLen)
	case strings.ContainsRune(path, 0):
		return "", fax.Errorf(fax.ECodeInvalid, "tiff_path contains a NUL byte")
	}
	root, err := filepath.EvalSymlinks(p.spoolDir)
	if err != nil {
		return "", fmt.Errorf("asterisk: resolve ASTERISK_SPOOL_DIR: %w", err)
	}
	cand := path
	if !filepath.IsAbs(cand) {
		cand = filepath.Join(p.spoolDir, cand)
	}
	cand = filepath.Clean(cand)
	// Asterisk may name the file through the configured path or through its
	// real path (the spool being a symlink); either must contain it.
	if !inside(p.spoolDir, cand) && !inside(root, cand) {
		return "", outside
	}
	resolved, err := filepath.EvalSymlinks(cand)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fax.Errorf(fax.ECodeInvalid, "tiff_path does not exist in ASTERISK_SPOOL_DIR")
		}
		return "", fax.Errorf(fax.ECodeInvalid, "tiff_path cannot be resolved inside ASTERISK_SPOOL_DIR")
	}
	if !inside(root, resolved) {
		return "", outside
	}
	fi, err := os.Lstat(resolved)
	if err != nil {
		return "", fax.Errorf(fax.ECodeInvalid, "tiff_path does not exist in ASTERISK_SPOOL_DIR")
	}
	if !fi.Mode().IsRegular() {
		return "", fax.Errorf(fax.ECodeInvalid, "tiff_path is not a regular file")
	}
	return resolved, nil
}

// OpenSpoolFile opens a file ResolveSpoolPath accepts through an os.Root on
// the spool, so that a symlink swapped in after the check still cannot lead
// outside it. The converter reading a received TIFF should use this.
func (p *Provider) OpenSpoolFile(path string) (*os.File, error) {
	resolved, err := p.ResolveSpoolPath(path)
	if err != nil {
		return nil, err
	}
	root, err := filepath.EvalSymlinks(p.spoolDir)
	if err != nil {
		return nil, fmt.Errorf("asterisk: resolve ASTERISK_SPOOL_DIR: %w", err)
	}
	rel, err := filepath.Rel(root, resolved)
	if err != nil {
		return nil, fmt.Errorf("asterisk: open spool file: %w", err)
	}
	f, err := os.OpenInRoot(root, rel)
	if err != nil {
		return nil, fmt.Errorf("asterisk: open spool file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fax.Errorf(fax.ECodeInvalid, "tiff_path is not a regular file")
	}
	return f, nil
}

// inside reports whether path is dir or below it; both must be clean and
// absolute.
func inside(dir, path string) bool {
	if path == dir {
		return true
	}
	rel, err := filepath.Rel(dir, path)
	if err != nil || filepath.IsAbs(rel) {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
