// Package storetest is the conformance suite every hub store runs (the
// embedded badger store today, PostgreSQL next): nonces are single-use and
// expire, refresh tokens rotate and a reused one revokes its family,
// revocations survive a reopen, profiles and node records round-trip and
// search agrees with store.Matches.
package storetest
