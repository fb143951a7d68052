package provider

import "context"

// Checker is a carrier that can prove its configured credentials work, with
// one cheap authenticated read of its API (or a login), for
// `faxgate carriers check`. Check returns what it proved, in a few words,
// when the carrier accepted them; an error says why not, never holding a
// secret.
type Checker interface {
	Check(ctx context.Context) (string, error)
}

// Setupper is a carrier whose account settings faxgate can point at itself
// (its webhook addresses and their credentials), for
// `faxgate carriers setup NAME`. With dryRun it only reads and reports what
// it would change.
type Setupper interface {
	Setup(ctx context.Context, dryRun bool) ([]SetupChange, error)
}

// SetupChange is one account setting Setup looked at: its value before and
// after, secrets shown only as set or not set. Before equals After when it
// was already right.
type SetupChange struct {
	Setting, Before, After string
}
