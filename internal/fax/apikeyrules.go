package fax

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxAPIKeyName is the longest name an API key may have, in bytes.
const MaxAPIKeyName = 100

// NewAPIKey builds a key named name carrying scopes, if granter may grant
// them (see CheckGrant): the name trimmed, repeated scopes dropped. The
// caller makes the secret and fills in Hash and Prefix.
func NewAPIKey(granter *APIKey, name string, scopes []string) (*APIKey, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxAPIKeyName {
		return nil, Errorf(ECodeInvalid, "name is required (at most %d characters)", MaxAPIKeyName)
	}
	if len(scopes) == 0 {
		return nil, Errorf(ECodeInvalid, "scopes is required: some of %s", ScopeNames())
	}
	var granted []Scope
	for _, sc := range scopes {
		if !Scope(sc).Valid() {
			return nil, Errorf(ECodeInvalid, "unknown scope %q; want some of %s", truncate(sc, 64), ScopeNames())
		}
		if !slices.Contains(granted, Scope(sc)) {
			granted = append(granted, Scope(sc))
		}
	}
	if err := CheckGrant(granter, granted); err != nil {
		return nil, err
	}
	return &APIKey{Name: name, Scopes: granted}, nil
}

// MaxSMSText bounds an SMS's text in characters (ten concatenated segments
// and some).
const MaxSMSText = 1600

// NewSMS checks a request to send text to the number to and builds the SMS
// to record; the caller picks its carrier and owner. The text itself is not
// kept, only its length.
func NewSMS(to, text string) (*SMS, error) {
	num, err := ParseNumber(to)
	if err != nil {
		return nil, Errorf(ECodeInvalid, "to: %s", ErrorMessage(err))
	}
	n := utf8.RuneCountInString(text)
	if strings.TrimSpace(text) == "" || n > MaxSMSText {
		return nil, Errorf(ECodeInvalid, "text is required, at most %d characters (got %d)", MaxSMSText, n)
	}
	return &SMS{To: string(num), TextLength: n}, nil
}
