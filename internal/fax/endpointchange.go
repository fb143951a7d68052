package fax

import (
	"slices"
	"strings"
)

// Limits of a webhook endpoint.
const (
	MaxEndpointEvents      = 32
	MaxEndpointNumbers     = 1000
	MaxEndpointDescription = 500
)

// EndpointChange is a request to create or change a webhook endpoint, as
// the API decoded it: a nil field is left as it is.
type EndpointChange struct {
	URL         *string
	Events      *[]string
	Inflight    *bool
	Format      *string
	Numbers     *[]string
	Description *string
	APIVersion  *string
	Enabled     *bool
}

// EndpointRules is what an endpoint's checks need beyond the change itself.
type EndpointRules struct {
	// Formats are the payload formats this gateway delivers; empty means
	// json only.
	Formats []string
	// CheckURL says whether events may go to a url: it depends on the
	// network and the configuration, which the domain does not know. Nil
	// takes the url as it is (it was checked before).
	CheckURL func(url string) error
}

// NewEndpoint builds a new, enabled endpoint from c, which must name a url,
// signing with secret and owned by the API key ownerKeyID ("" for an admin
// key).
func NewEndpoint(c *EndpointChange, rules EndpointRules, secret, ownerKeyID string) (*Endpoint, error) {
	if c.URL == nil {
		return nil, Errorf(ECodeInvalid, "url is required")
	}
	if c.Enabled != nil && !*c.Enabled {
		return nil, Errorf(ECodeInvalid, "a new endpoint is enabled; disable it afterwards with PATCH")
	}
	e := &Endpoint{Format: FormatJSON, APIVersion: APIVersion, Enabled: true}
	if err := c.Apply(e, rules); err != nil {
		return nil, err
	}
	e.Secret, e.OwnerKeyID = secret, ownerKeyID
	return e, nil
}

// Apply validates c and copies it onto e; on an error e may be partly
// changed. Events and numbers lose their duplicates, and numbers are
// normalised to E.164.
func (c *EndpointChange) Apply(e *Endpoint, rules EndpointRules) error {
	if c.URL != nil {
		u := strings.TrimSpace(*c.URL)
		if rules.CheckURL != nil {
			if err := rules.CheckURL(u); err != nil {
				return err
			}
		}
		e.URL = u
	}
	if c.Events != nil {
		if len(*c.Events) > MaxEndpointEvents {
			return Errorf(ECodeInvalid, "events: too many")
		}
		e.Events = nil
		for _, t := range *c.Events {
			et := EventType(t)
			if !et.Valid() {
				return Errorf(ECodeInvalid, "events: unknown event type %q", truncate(t, 64))
			}
			if !slices.Contains(e.Events, et) {
				e.Events = append(e.Events, et)
			}
		}
	}
	if c.Inflight != nil {
		e.Inflight = *c.Inflight
	}
	if c.Format != nil {
		formats := rules.Formats
		if len(formats) == 0 {
			formats = []string{FormatJSON}
		}
		if !slices.Contains(formats, *c.Format) {
			return Errorf(ECodeInvalid, "format must be one of %s", strings.Join(formats, ", "))
		}
		e.Format = *c.Format
	}
	if c.Numbers != nil {
		if len(*c.Numbers) > MaxEndpointNumbers {
			return Errorf(ECodeInvalid, "numbers: at most %d", MaxEndpointNumbers)
		}
		e.Numbers = nil
		for _, n := range *c.Numbers {
			num, err := ParseNumber(n)
			if err != nil {
				return Errorf(ECodeInvalid, "numbers: %s", ErrorMessage(err))
			}
			if !slices.Contains(e.Numbers, string(num)) {
				e.Numbers = append(e.Numbers, string(num))
			}
		}
	}
	if c.Description != nil {
		if len(*c.Description) > MaxEndpointDescription {
			return Errorf(ECodeInvalid, "description: at most %d characters", MaxEndpointDescription)
		}
		e.Description = *c.Description
	}
	if c.APIVersion != nil {
		if *c.APIVersion != APIVersion {
			return Errorf(ECodeInvalid, "api_version must be %s", APIVersion)
		}
		e.APIVersion = *c.APIVersion
	}
	if e.Format == FormatGoFax && e.Inflight {
		return Errorf(ECodeInvalid, "the gofax format has no inflight events; set inflight to false")
	}
	if c.Enabled != nil {
		e.Enabled = *c.Enabled
		if e.Enabled {
			e.DisabledReason = ""
		} else if e.DisabledReason == "" {
			e.DisabledReason = "disabled by a user"
		}
	}
	return nil
}

// truncate cuts s to at most n bytes, for quoting input in messages.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
