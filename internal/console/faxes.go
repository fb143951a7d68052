package console

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

// The fax pages: outbox and inbox, one fax, send, send again, receive.

type faxesData struct {
	Direction, Status, Q string
	BatchID              string
	Faxes                []wire.Fax
	Next                 string
	Statuses             []string
}

func (c *Console) handleFaxes(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	d := faxesData{Direction: q.Get("direction"), Status: q.Get("status"), Q: strings.TrimSpace(q.Get("q")), BatchID: q.Get("batch_id"),
		Statuses: []string{"queued", "sending", "sent", "failed", "canceled", "received", "partial"}}
	if d.Direction == "" {
		d.Direction = "outbound"
	}
	// The number searched for is the API's to (outbox) or from (inbox)
	// filter, so the search covers every fax and pages like the list.
	numberParam := "to"
	if d.Direction == "inbound" {
		numberParam = "from"
	}
	v := &view{Title: "Outbox", Nav: d.Direction, Data: &d}
	if d.Direction == "inbound" {
		v.Title = "Inbox"
	}
	number := ""
	if d.Q != "" {
		// Parsed as the API parses it, so the form can say what is wrong.
		n, err := fax.ParseNumber(d.Q)
		if err != nil {
			v.Error = "Number: " + fax.ErrorMessage(err)
			c.render(w, r, http.StatusBadRequest, "faxes", p, v)
			return nil
		}
		number = string(n)
	}
	var list wire.List[wire.Fax]
	path := "/v1/faxes" + query("direction", d.Direction, "status", d.Status, numberParam, number, "batch_id", d.BatchID, "limit", "50", "cursor", q.Get("cursor"))
	if err := c.callJSON(r, p, "GET", path, nil, &list); err != nil {
		return err
	}
	d.Faxes = list.Data
	if list.NextCursor != nil {
		d.Next = query("direction", d.Direction, "status", d.Status, "q", d.Q, "batch_id", d.BatchID, "cursor", *list.NextCursor)
	}
	c.render(w, r, http.StatusOK, "faxes", p, v)
	return nil
}

type faxData struct {
	Fax    wire.Fax
	Events []wire.Event
}

func (c *Console) handleFax(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	var d faxData
	if err := c.callJSON(r, p, "GET", "/v1/faxes/"+url.PathEscape(id), nil, &d.Fax); err != nil {
		return err
	}
	var ev wire.List[wire.Event]
	if err := c.callJSON(r, p, "GET", "/v1/faxes/"+url.PathEscape(id)+"/events", nil, &ev); err != nil {
		return err
	}
	d.Events = ev.Data
	nav := "outbound"
	if d.Fax.Direction == "inbound" {
		nav = "inbound"
	}
	c.render(w, r, http.StatusOK, "fax", p, &view{Title: "Fax " + d.Fax.ID, Nav: nav, Data: d})
	return nil
}

// handleFaxJSON is the polling route of console.js: the API's fax object.
func (c *Console) handleFaxJSON(w http.ResponseWriter, r *http.Request, p *principal) error {
	rec := c.call(r, p, "GET", "/v1/faxes/"+url.PathEscape(r.PathValue("id")), nil, "")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rec.code)
	w.Write(rec.body.Bytes())
	return nil
}

// handleFaxDocument streams the API's PDF; ?inline=1 lets the fax's page
// show it in a frame of its own origin.
func (c *Console) handleFaxDocument(w http.ResponseWriter, r *http.Request, p *principal) error {
	req, err := http.NewRequestWithContext(r.Context(), "GET", "/v1/faxes/"+url.PathEscape(r.PathValue("id"))+"/document", nil)
	if err != nil {
		return err
	}
	req.RemoteAddr = r.RemoteAddr
	if r.URL.Query().Get("inline") == "1" {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'self'")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		w = &inlineWriter{ResponseWriter: w}
	}
	c.opts.API.ServeAs(p.key, w, req)
	return nil
}

// inlineWriter turns the API's attachment into an inline document.
type inlineWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *inlineWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if cd := w.Header().Get("Content-Disposition"); strings.HasPrefix(cd, "attachment") {
			w.Header().Set("Content-Disposition", "inline"+strings.TrimPrefix(cd, "attachment"))
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *inlineWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (c *Console) handleFaxCancel(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	if err := c.callJSON(r, p, "POST", "/v1/faxes/"+url.PathEscape(id)+"/cancel", nil, nil); err != nil {
		return err
	}
	c.audit(r, p.key.ID, "console.fax_cancel", "fax", id, "ok")
	redirect(w, r, Prefix+"/faxes/"+url.PathEscape(id), "canceled")
	return nil
}

// handleFaxResend sends the fax's document again to the same number.
func (c *Console) handleFaxResend(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	var f wire.Fax
	if err := c.callJSON(r, p, "GET", "/v1/faxes/"+url.PathEscape(id), nil, &f); err != nil {
		return err
	}
	doc := c.call(r, p, "GET", "/v1/faxes/"+url.PathEscape(id)+"/document", nil, "")
	if err := decodeAnswer(doc, nil); err != nil {
		return err
	}
	if f.Direction != "outbound" {
		return fax.Errorf(fax.ECodeInvalid, "only a sent fax can be sent again")
	}
	fields := map[string]string{"to": f.To}
	if f.HeaderText != nil {
		fields["header_text"] = *f.HeaderText
	}
	return c.send(w, r, p, fields, f.ID+".pdf", doc.body.Bytes(), "console.fax_resend")
}

func (c *Console) handleSendPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	// The form posts nowhere the key could go: say so, as the API would.
	if !p.key.Has(fax.ScopeFaxSend) {
		return fax.Errorf(fax.ECodeForbidden, "this API key lacks the %s scope", fax.ScopeFaxSend)
	}
	c.render(w, r, http.StatusOK, "send", p, &view{Title: "Send a fax", Nav: "send"})
	return nil
}

func (c *Console) handleSend(w http.ResponseWriter, r *http.Request, p *principal) error {
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return fax.Errorf(fax.ECodeInvalid, "choose a document to send")
	}
	defer file.Close()
	b, err := io.ReadAll(file)
	if err != nil {
		return err
	}
	fields := map[string]string{}
	for _, name := range []string{"header_text", "callback_url", "cover_to", "cover_from", "cover_subject", "cover_message"} {
		if v := strings.TrimSpace(r.FormValue(name)); v != "" {
			fields[name] = v
		}
	}
	if r.FormValue("cover_confidential") != "" {
		fields["cover_confidential"] = "true"
	}
	fields["to"] = strings.TrimSpace(r.FormValue("to"))
	return c.send(w, r, p, fields, hdr.Filename, b, "console.fax_send")
}

// sentData is what the sent page shows: the faxes of one send, with the
// batch they make when there are several.
type sentData struct {
	BatchID string
	Faxes   []wire.Fax
}

// send posts a multipart send to the API; numbers separated by commas,
// semicolons or lines become the API's repeated "to": one fax each, under one
// batch_id, made all together or, when one number is refused, none.
func (c *Console) send(w http.ResponseWriter, r *http.Request, p *principal, fields map[string]string, filename string, doc []byte, action string) error {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	// Spaces stay inside a number, as in "+1 555 123 4567"; the API reads
	// such a number whole.
	var to []string
	for _, n := range strings.FieldsFunc(fields["to"], func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ';' }) {
		if n = strings.TrimSpace(n); n != "" {
			to = append(to, n)
		}
	}
	if len(to) == 0 {
		return fax.Errorf(fax.ECodeInvalid, "enter the number to send to, such as +15551234567")
	}
	for _, n := range to {
		mw.WriteField("to", n)
	}
	for k, v := range fields {
		if k != "to" {
			mw.WriteField(k, v)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		return err
	}
	fw.Write(doc)
	mw.Close()
	var sent sentData
	if len(to) == 1 {
		var f wire.Fax
		err = decodeAnswer(c.call(r, p, "POST", "/v1/faxes", &body, mw.FormDataContentType()), &f)
		sent.Faxes = []wire.Fax{f}
	} else {
		var b wire.Batch
		err = decodeAnswer(c.call(r, p, "POST", "/v1/faxes", &body, mw.FormDataContentType()), &b)
		sent = sentData{BatchID: b.BatchID, Faxes: b.Data}
	}
	if err != nil {
		return err
	}
	for _, f := range sent.Faxes {
		c.audit(r, p.key.ID, action, "fax", f.ID, "ok")
	}
	if len(sent.Faxes) == 1 && p.key.Has(fax.ScopeFaxRead) {
		redirect(w, r, Prefix+"/faxes/"+url.PathEscape(sent.Faxes[0].ID), "sent")
		return nil
	}
	c.render(w, r, http.StatusAccepted, "sent", p, &view{Title: "Sent", Nav: "send", Data: &sent})
	return nil
}

func (c *Console) handleReceive(w http.ResponseWriter, r *http.Request, p *principal) error {
	in := map[string]any{"from": "+15550100" + fmt.Sprintf("%03d", c.now().Nanosecond()/1e6), "to": "+15550199999", "pages": 1}
	var f wire.Fax
	if err := c.callJSON(r, p, "POST", "/v1/simulator/inbound", in, &f); err != nil {
		return err
	}
	c.audit(r, p.key.ID, "console.simulator_receive", "fax", f.ID, "ok")
	if p.key.Has(fax.ScopeFaxRead) {
		redirect(w, r, Prefix+"/faxes/"+url.PathEscape(f.ID), "received")
		return nil
	}
	redirect(w, r, Prefix+"/send", "received")
	return nil
}
