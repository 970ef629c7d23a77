// Package badgerstore is the hub's embedded store: badger v4 in the hub's
// data dir, the default that makes one binary and a data dir a complete hub.
//
// Keys (values are JSON unless noted):
//
//	n/<nonce>            login nonce; value: expiry (RFC 3339)
//	r/<hex sha256>       refresh token record {family, node_id, expires, used}
//	f/<family>           revoked family; value: revoked-until (RFC 3339)
//	d/<node_id>          node record {node_id, certificate_pem, last_seen}
//	p/<node_id>          profile
//	mi/<recipient>/<received>/<id>  mailbox index {size, expires}
//	md/<recipient>/<id>  mailbox envelope (raw bytes; no sender anywhere)
//
// Every record carries a badger TTL an hour past its own expiry, so expired
// nonces, tokens and revocations are collected by badger itself while the
// store can still tell "expired" from "unknown" for that hour. Mailbox
// records expire with their envelope (no grace: an expired envelope is
// just gone).
package badgerstore
