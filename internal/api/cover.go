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
