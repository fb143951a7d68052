package blob

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

func TestDir(t *testing.T) {
	ctx := context.Background()
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	info, err := d.Put(ctx, "out/fax_1.pdf", []byte("%PDF-1.4 hello"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != 14 || len(info.SHA256) != 64 {
		t.Errorf("got %+v", info)
	}
	b, err := d.Get(ctx, "out/fax_1.pdf")
	if err != nil || string(b) != "%PDF-1.4 hello" {
		t.Errorf("got %q, %v", b, err)
	}
	if err := d.Delete(ctx, "out/fax_1.pdf"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(ctx, "out/fax_1.pdf"); fax.ErrorCode(err) != fax.ECodeNotFound {
		t.Errorf("got %v, want not_found", err)
	}
	for _, k := range []string{"", "../x", "/etc/passwd", "a/../../b", "a\\b"} {
		if _, err := d.Put(ctx, k, nil); err == nil {
			t.Errorf("Put(%q): got nil error, want refusal", k)
		}
	}
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, _ := NewDir(root)
	d.Put(ctx, "outbound/kept.pdf", []byte("a"))
	d.Put(ctx, "outbound/orphan.pdf", []byte("b"))
	d.Put(ctx, "outbound/new-orphan.pdf", []byte("c"))
	os.WriteFile(filepath.Join(root, "outbound", ".tmp-123"), []byte("half"), 0o600)
	old := time.Now().Add(-2 * time.Hour)
	for _, n := range []string{"kept.pdf", "orphan.pdf", ".tmp-123"} {
		os.Chtimes(filepath.Join(root, "outbound", n), old, old)
	}
	n, err := d.Sweep(ctx, time.Hour, time.Now(), func(_ context.Context, key string) (bool, error) {
		return key == "outbound/kept.pdf", nil
	})
	if err != nil || n != 2 {
		t.Fatalf("got %d %v, want 2 removed (the old orphan and the temp file)", n, err)
	}
	for key, want := range map[string]bool{"outbound/kept.pdf": true, "outbound/orphan.pdf": false, "outbound/new-orphan.pdf": true} {
		if _, err := d.Get(ctx, key); (err == nil) != want {
			t.Errorf("%s: exists=%v, want %v", key, err == nil, want)
		}
	}
}

// TestNoSpace: a disk out of space, over quota or over the file size limit
// is the service being unavailable (503, try again); other failures stay
// internal.
func TestNoSpace(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EFBIG} {
		err := noSpace(fmt.Errorf("blob: put: %w", &os.PathError{Op: "write", Path: "/x", Err: errno}))
		if fax.ErrorCode(err) != fax.ECodeUnavailable || !errors.Is(err, errno) {
			t.Errorf("%v: got %v (%s), want unavailable keeping the cause", errno, err, fax.ErrorCode(err))
		}
	}
	if err := noSpace(&os.PathError{Op: "write", Path: "/x", Err: syscall.EIO}); fax.ErrorCode(err) != fax.ECodeInternal {
		t.Errorf("EIO: got %s, want internal", fax.ErrorCode(err))
	}
}
