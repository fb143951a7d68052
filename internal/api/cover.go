package api

import (
	"context"
	"strconv"

	"github.com/faxgate/faxgate/internal/fax"
)

// coverFields are a send's multipart cover page fields.
var coverFields = []string{"cover_to", "cover_from", "cover_subject", "cover_message", "cover_confidential"}

// maxCoverMessageField is how many bytes a multipart cover_message may
// have: MaxCoverMessage characters of four bytes each, with room for
// CRLF line breaks, so that the character limit is what a user meets.
const maxCoverMessageField = fax.MaxCoverMessage*4 + 2*fax.MaxCoverMessageLines

// coverMultipart points a multipart send's cover fields at req.
func (req *sendRequest) coverMultipart(fields map[string]*string) {
	fields["cover_to"], fields["cover_from"], fields["cover_subject"] = &req.CoverTo, &req.CoverFrom, &req.CoverSubject
	fields["cover_message"], fields["cover_confidential"] = &req.CoverMessage, &req.coverConfidential
}

// parseCoverConfidential reads a multipart cover_confidential.
func (req *sendRequest) parseCoverConfidential() error {
	if req.coverConfidential == "" {
		return nil
	}
	b, err := strconv.ParseBool(req.coverConfidential)
	if err != nil {
		return fax.Errorf(fax.ECodeInvalid, "cover_confidential: want true or false")
	}
	req.CoverConfidential = b
	return nil
}

// cover is the cover page the request asks for, not yet validated.
func (req *sendRequest) cover() fax.Cover {
	return fax.Cover{To: req.CoverTo, From: req.CoverFrom, Subject: req.CoverSubject, Message: req.CoverMessage, Confidential: req.CoverConfidential}
}

// addCover puts the send's cover page in front of its document.
func (s *Server) addCover(ctx context.Context, doc Document, c fax.Cover) (Document, error) {
	if s.opts.AddCover == nil {
		return Document{}, fax.Errorf(fax.ECodeUnprocessable, "cover pages are not supported by this gateway")
	}
	return s.opts.AddCover(ctx, doc, c, s.now().UTC())
}

// coverSchema adds the cover fields to a send body's OpenAPI properties;
// a multipart cover_confidential is the text true or false.
func coverSchema(props map[string]any, multipart bool) map[string]any {
	text := func(max int, what string) map[string]any {
		return map[string]any{"type": "string", "maxLength": max, "description": what}
	}
	props["cover_to"] = text(fax.MaxCoverName, "cover page: who the fax is for; any cover field adds a cover page in front of the document, counted in pages")
	props["cover_from"] = text(fax.MaxCoverName, "cover page: who sends it")
	props["cover_subject"] = text(fax.MaxCoverSubject, "cover page: subject")
	props["cover_message"] = text(fax.MaxCoverMessage, "cover page: message, at most 100 lines; tabs and line breaks allowed, other control characters refused; characters outside Windows-1252 print as ?")
	conf := map[string]any{"type": "boolean", "description": "cover page: adds the notice that the fax may contain confidential health information, and what to do if received in error"}
	if multipart {
		conf = map[string]any{"type": "string", "enum": []string{"true", "false"}, "description": conf["description"]}
	}
	props["cover_confidential"] = conf
	return props
}
