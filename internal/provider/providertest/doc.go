// Package providertest holds, once, what the carriers' tests share: a
// loopback carrier API that records every request and answers as a test
// says (Fake), answers and servers that misbehave in the ways a send must
// survive, golden-file rendering of carrier requests, and the contract
// tests every carrier runs (Run).
//
// It is imported by tests only. It imports the carrier contract
// (internal/provider) and the domain, never a carrier package.
package providertest
