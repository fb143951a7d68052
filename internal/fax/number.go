package fax

import (
	"strings"
)

// Number is a telephone number in E.164 form: "+" then 8 to 15 digits, the
// first not zero.
type Number string

// ParseNumber accepts an E.164 number, allowing the visual separators people
// paste (spaces, dots, dashes, parentheses) and a leading "00" international
// prefix, and returns it normalised. The error says what is wrong.
func ParseNumber(s string) (Number, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(ECodeInvalid, "number is empty; want E.164 such as +15551234567")
	}
	if len(s) > 32 {
		return "", Errorf(ECodeInvalid, "number is too long; want E.164 such as +15551234567")
	}
	var digits strings.Builder
	plus := false
	for i, r := range s {
		switch {
		case r == '+' && i == 0:
			plus = true
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", Errorf(ECodeInvalid, "number contains %q; want E.164 digits such as +15551234567", r)
		}
	}
	d := digits.String()
	if !plus {
		if strings.HasPrefix(d, "00") {
			d = d[2:]
		} else {
			return "", Errorf(ECodeInvalid, "number must start with + and the country code (E.164), such as +15551234567")
		}
	}
	if len(d) < 8 || len(d) > 15 {
		return "", Errorf(ECodeInvalid, "number has %d digits; E.164 allows 8 to 15 after the +", len(d))
	}
	if d[0] == '0' {
		return "", Errorf(ECodeInvalid, "number's country code cannot start with 0")
	}
	return Number("+" + d), nil
}

// ParseLooseNumber is for numbers carriers send, which may lack the "+"
// (GoFax sends "61712344321"): digits alone are taken as country code first.
func ParseLooseNumber(s string) (Number, error) {
	t := strings.TrimSpace(s)
	if t != "" && t[0] != '+' && !strings.HasPrefix(t, "00") {
		t = "+" + t
	}
	return ParseNumber(t)
}

// Mask shows only the last four digits, for logs.
func (n Number) Mask() string { return MaskNumber(string(n)) }

// MaskNumber hides all but the last four characters of s.
func MaskNumber(s string) string {
	if len(s) <= 4 {
		return "****"
	}
	return "…" + s[len(s)-4:]
}
