package api

import (
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
)

// fieldSet checks the names a request gives (query parameters, multipart
// fields) against those its route takes. An unknown name or a name given
// twice is refused with 400 naming it: a guess at what the client meant
// (the last value, the filter ignored) would act on something it did not
// ask for.
type fieldSet struct {
	what    string // "query parameter" or "field", for messages
	allowed []string
	// repeatable names may be given more than once (a send's files).
	repeatable []string
	seen       map[string]bool
}

func newFieldSet(what string, allowed []string) *fieldSet {
	return &fieldSet{what: what, allowed: allowed, seen: map[string]bool{}}
}

// add records one occurrence of name.
func (f *fieldSet) add(name string) error {
	if !slices.Contains(f.allowed, name) {
		if len(f.allowed) == 0 {
			return fax.Errorf(fax.ECodeInvalid, "unknown %s %q: this route takes none", f.what, truncate(name, 64))
		}
		return fax.Errorf(fax.ECodeInvalid, "unknown %s %q; want one of %s", f.what, truncate(name, 64), strings.Join(f.allowed, ", "))
	}
	if f.seen[name] && !slices.Contains(f.repeatable, name) {
		return fax.Errorf(fax.ECodeInvalid, "%s %s is given more than once; give it once", f.what, name)
	}
	f.seen[name] = true
	return nil
}

// checkQuery applies a route's query parameter rule to a raw query string,
// in name order so that the message does not depend on map order. A query
// that does not parse is refused whole: the parser would drop the pairs it
// cannot read.
func checkQuery(raw string, allowed []string) error {
	if raw == "" {
		return nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return fax.Errorf(fax.ECodeInvalid, "the query string is malformed")
	}
	names := make([]string, 0, len(q))
	for n := range q {
		names = append(names, n)
	}
	sort.Strings(names)
	f := newFieldSet("query parameter", allowed)
	for _, n := range names {
		for range q[n] {
			if err := f.add(n); err != nil {
				return err
			}
		}
	}
	return nil
}
