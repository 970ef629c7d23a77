// Package store is the hub's persistent state behind one interface, so that
// the embedded badger store (package badgerstore, the default: one binary
// and a data dir) and a shared PostgreSQL store for several hub replicas fit
// the same hub code. Package storetest is the conformance suite every
// implementation runs.
//
// What is stored: login nonces (single-use, with an expiry), refresh tokens
// (by SHA-256 hash only, grouped in families that rotate), revoked families
// (logout, reuse detection; kept until every token of the family has
// expired), profiles, and per-node records (certificate, last seen).
package store
