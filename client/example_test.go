package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"

	"github.com/faxgate/faxgate/client"
)

// Send a document and wait until the carrier has finished with it. (The
// test gateway runs the simulator carrier, which "sends" every number.)
func ExampleClient_SendFax() {
	ctx := context.Background()
	c, err := client.New(os.Getenv("FAXGATE_URL"), os.Getenv("FAXGATE_API_KEY"), nil)
	if err != nil {
		log.Fatal(err)
	}
	f, err := c.SendFax(ctx, client.SendRequest{To: "+15551234567", Document: strings.NewReader("Hello, fax.\n"), Filename: "hello.txt"})
	if err != nil {
		log.Fatal(err)
	}
	f, err = c.WaitFax(ctx, f.ID, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Status, f.Pages)
	// Output: sent 1
}

// Iterate over every received fax, page after page.
func ExampleClient_Faxes() {
	ctx := context.Background()
	c, _ := client.New(os.Getenv("FAXGATE_URL"), os.Getenv("FAXGATE_API_KEY"), nil)
	if _, err := c.SimulateInbound(ctx, "+15557654321", "+15551230000", 1); err != nil {
		log.Fatal(err)
	}
	n := 0
	for f, err := range c.Faxes(ctx, client.FaxListParams{Direction: "inbound", Limit: 10}) {
		if err != nil {
			log.Fatal(err)
		}
		if f.To == "+15551230000" {
			n++
		}
	}
	fmt.Println(n >= 1)
	// Output: true
}

// Errors carry the API's code, status and request id.
func ExampleError() {
	c, _ := client.New(os.Getenv("FAXGATE_URL"), os.Getenv("FAXGATE_API_KEY"), nil)
	_, err := c.GetFax(context.Background(), "fax_nosuchfax")
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code, e.RequestID != "")
	}
	// Output: 404 not_found true
}

// A webhook receiver: verify with every secret in use (two during a
// rotation), then act on the typed event.
func ExampleVerifier_Receive() {
	v, err := client.NewVerifier(os.Getenv("WEBHOOK_SECRET"), os.Getenv("WEBHOOK_OLD_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("POST /faxgate", func(w http.ResponseWriter, r *http.Request) {
		ev, err := v.Receive(r)
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if f, err := ev.Fax(); err == nil {
			log.Printf("%s: fax %s is %s", ev.Type, f.ID, f.Status)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
