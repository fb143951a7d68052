package fax

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// OneLine is the one place text from outside (a carrier's error, a mail
// relay's reply) loses what would break a line or a terminal: invalid UTF-8
// becomes U+FFFD, and each control character or Unicode line or paragraph
// separator a space.
func OneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// Words is OneLine with every run of spaces made one, for text shown as a
// sentence.
func Words(s string) string {
	return strings.Join(strings.Fields(OneLine(s)), " ")
}

// Truncate shortens s to at most n bytes without splitting a character.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
