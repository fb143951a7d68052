package fax

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a send's cover page fields, in characters.
const (
	// MaxCoverName bounds cover_to and cover_from: a person, a practice
	// and a department fit; a letter does not.
	MaxCoverName = 100
	// MaxCoverSubject bounds cover_subject.
	MaxCoverSubject = 200
	// MaxCoverMessage bounds cover_message: about a page of prose.
	MaxCoverMessage = 4000
	// MaxCoverMessageLines bounds the line breaks of cover_message, so that
	// a message of empty lines cannot run to pages of nothing.
	MaxCoverMessageLines = 100
)

// Cover is the cover page a send asks for: the cover_* fields of the API.
// It is rendered into the stored document and not kept apart from it.
type Cover struct {
	To, From, Subject, Message string
	// Confidential adds the notice that the fax may carry confidential
	// health information and what to do when it arrives in error.
	Confidential bool
}

// Set reports whether a cover page is asked for: any text field given, or
// the confidential notice.
func (c Cover) Set() bool {
	return c.To != "" || c.From != "" || c.Subject != "" || c.Message != "" || c.Confidential
}

// Validate checks the fields and cleans them in place: surrounding spaces
// are trimmed and the message's line breaks become "\n". Control
// characters are refused (tabs and line breaks are allowed in the message
// only) rather than dropped, so that the page says exactly what was sent.
// Its messages name the API's fields.
func (c *Cover) Validate() error {
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"cover_to", &c.To, MaxCoverName}, {"cover_from", &c.From, MaxCoverName}, {"cover_subject", &c.Subject, MaxCoverSubject}} {
		*f.v = strings.TrimSpace(*f.v)
		if err := checkCoverText(f.name, *f.v, f.max, false); err != nil {
			return err
		}
	}
	c.Message = strings.ReplaceAll(c.Message, "\r\n", "\n")
	c.Message = strings.ReplaceAll(c.Message, "\r", "\n")
	c.Message = strings.TrimSpace(c.Message)
	if err := checkCoverText("cover_message", c.Message, MaxCoverMessage, true); err != nil {
		return err
	}
	if n := strings.Count(c.Message, "\n") + 1; n > MaxCoverMessageLines {
		return Errorf(ECodeInvalid, "cover_message: at most %d lines, got %d", MaxCoverMessageLines, n)
	}
	return nil
}

// checkCoverText refuses text that is not UTF-8, longer than max
// characters, or holding control characters (but for tabs and line feeds
// when multiline).
func checkCoverText(name, v string, max int, multiline bool) error {
	if !utf8.ValidString(v) {
		return Errorf(ECodeInvalid, "%s: not valid UTF-8 text", name)
	}
	if n := utf8.RuneCountInString(v); n > max {
		return Errorf(ECodeInvalid, "%s: at most %d characters, got %d", name, max, n)
	}
	for _, r := range v {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			if multiline {
				return Errorf(ECodeInvalid, "%s: control character U+%04X is not allowed (tabs and line breaks are)", name, r)
			}
			return Errorf(ECodeInvalid, "%s: control character U+%04X is not allowed (one line of text)", name, r)
		}
	}
	return nil
}

// hashParts are the fields Hash covers, empty for no cover so that the
// hash of a send without one is what it always was.
func (c Cover) hashParts() []string {
	if !c.Set() {
		return nil
	}
	conf := "0"
	if c.Confidential {
		conf = "1"
	}
	return []string{"cover", c.To, c.From, c.Subject, c.Message, conf}
}
