package client_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/client"
)

// TestClientSendBatch sends one document to three numbers, lists the
// batch by its id, carrier and creation time, and sees a batch with one
// bad number refused whole.
func TestClientSendBatch(t *testing.T) {
	c, ctx := newAdmin(t), testContext(t)
	start := time.Now().Add(-time.Second)
	for _, numbers := range [][]string{{"+15557010001", "+15557010002", "+15557010003"}, {"+15557010004"}} {
		req := client.SendRequest{Recipients: numbers, Document: strings.NewReader("a batch\n"), Filename: "note.txt"}
		b, err := c.SendBatch(ctx, req)
		if err != nil {
			t.Fatalf("SendBatch: %v", err)
		}
		if len(numbers) == 1 {
			// Multipart cannot tell a batch of one from a single send.
			if b.BatchID != "" || len(b.Data) != 1 || b.Data[0].To != numbers[0] {
				t.Errorf("SendBatch to one number: got %+v, want its fax alone", b)
			}
			continue
		}
		if !strings.HasPrefix(b.BatchID, "bat_") || len(b.Data) != 3 {
			t.Fatalf("SendBatch: got %+v, want a batch of 3", b)
		}
		var to []string
		for _, f := range b.Data {
			if f.BatchID != b.BatchID {
				t.Errorf("fax %s: got batch_id %q, want %q", f.ID, f.BatchID, b.BatchID)
			}
			to = append(to, f.To)
		}
		if !slices.Equal(to, req.Recipients) {
			t.Errorf("numbers: got %v, want %v", to, req.Recipients)
		}
		page, err := c.ListFaxes(ctx, client.FaxListParams{BatchID: b.BatchID, Provider: "simulator", CreatedAfter: start, CreatedBefore: time.Now().Add(time.Minute)})
		if err != nil || len(page.Data) != 3 {
			t.Errorf("ListFaxes by batch: got %v, %v; want the 3", page, err)
		}
	}
	_, err := c.SendBatch(ctx, client.SendRequest{Recipients: []string{"+15557010007", "not a number"}, Document: strings.NewReader("x\n"), Filename: "x.txt"})
	if e := wantAPIError(t, err, 400, "invalid"); !strings.Contains(e.Message, "to[1]") {
		t.Errorf("bad number: got %q, want it named", e.Message)
	}
	page, err := c.ListFaxes(ctx, client.FaxListParams{To: "+15557010007"})
	if err != nil || len(page.Data) != 0 {
		t.Errorf("after the refused batch: got %v, %v; want no fax to its good number", page, err)
	}
}
