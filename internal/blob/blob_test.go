package blob

import (
	"context"
	"testing"

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
