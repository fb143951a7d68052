package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// TestSealedS3 runs the sealing layer over the S3 store on a real Versity
// gateway: the store behaviour, objects without plaintext, and Reseal
// listing the bucket under its prefix.
func TestSealedS3(t *testing.T) {
	gw := MustStartGateway(t)
	ctx := context.Background()
	testStore(t, func(t *testing.T) Store {
		cfg := gw.config("faxgate-sealed")
		cfg.Prefix = t.Name()
		s, err := NewSealed(MustNewS3(t, cfg), []string{testKey(1)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})

	t.Run("ObjectsHoldNoPlaintext", func(t *testing.T) {
		cfg := gw.config("faxgate-sealed")
		cfg.Prefix = t.Name()
		raw := MustNewS3(t, cfg)
		if _, err := raw.Put(ctx, "in/clear.pdf", samplePDF); err != nil {
			t.Fatal(err)
		}
		old, err := NewSealed(raw, []string{testKey(1)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.Put(ctx, "out/old.pdf", samplePDF); err != nil {
			t.Fatal(err)
		}
		s, err := NewSealed(raw, []string{testKey(2), testKey(1)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(ctx, "out/new.pdf", samplePDF); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"out/old.pdf", "out/new.pdf"} {
			b, err := raw.Get(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte("%PDF")) || bytes.Contains(b, []byte(secretText)) {
				t.Errorf("object %s holds the document in clear", k)
			}
		}
		for _, k := range []string{"in/clear.pdf", "out/old.pdf", "out/new.pdf"} {
			if got, err := s.Get(ctx, k); err != nil || !bytes.Equal(got, samplePDF) {
				t.Errorf("Get(%s): got %q, %v, want the PDF", k, got, err)
			}
		}
		// A clear object read through Open streams from the service.
		rc, size, err := s.Open(ctx, "in/clear.pdf")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || size != int64(len(samplePDF)) || !bytes.Equal(got, samplePDF) {
			t.Errorf("Open(in/clear.pdf): got %q (size %d), %v, want the PDF", got, size, err)
		}
		if _, err := old.Get(ctx, "out/new.pdf"); !errors.Is(err, ErrWrongDocumentKey) {
			t.Errorf("new object with the old key alone: got %v, want ErrWrongDocumentKey", err)
		}

		res, err := s.Reseal(ctx, nil)
		if err != nil || res != (ResealResult{Resealed: 2, Current: 1}) {
			t.Errorf("Reseal: got %+v, %v, want 2 resealed, 1 current", res, err)
		}
		next, err := NewSealed(raw, []string{testKey(2)})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"in/clear.pdf", "out/old.pdf", "out/new.pdf"} {
			b, _ := raw.Get(ctx, k)
			if bytes.Contains(b, []byte("%PDF")) {
				t.Errorf("object %s in clear after Reseal", k)
			}
			if got, err := next.Get(ctx, k); err != nil || !bytes.Equal(got, samplePDF) {
				t.Errorf("Get(%s) with the new key alone: got %q, %v, want the PDF", k, got, err)
			}
		}
	})
}
