// Package pgstore is the hub's PostgreSQL store: the same records and
// semantics as the embedded badger store, in one database that several hub
// replicas share.
//
// Open parses the URL, connects (pgx pool), and applies the embedded
// migrations (migrations/*.sql) with goose under a PostgreSQL session
// advisory lock, so that replicas starting at once apply each migration
// exactly once; goose records versions in goose_db_version.
//
// Tables:
//
//	nonces            value -> expires
//	refresh_tokens    SHA-256 hash (bytea) -> family, node_id, expires, used
//	revoked_families  family -> until
//	nodes             node_id -> certificate_pem, last_seen
//	profiles          node_id (bytewise order) -> name_lower, doc (jsonb store.Profile)
//
// Times are timestamptz: they read back to the microsecond, in the local
// time zone. The pool has pgx's defaults (pool_max_conns and the other
// pool_ parameters in the URL change them); without connect_timeout in the
// URL a connection attempt gives up after 10 s.
//
// Atomicity: TakeNonce is one DELETE ... RETURNING; RotateRefresh is one
// transaction that locks the old token's row (SELECT ... FOR UPDATE);
// PutEnvelope holds a transaction advisory lock on the recipient while it
// counts the mailbox against its quota and inserts.
//
// Expired rows: an open Store runs Cleanup every 10 minutes, deleting
// nonces and refresh tokens an hour past their expiry (until then
// "expired" is told from "unknown", as in the badger store), ended
// revocations and expired mailbox envelopes. Cleanup is exported for callers that want it sooner.
//
// Errors: Open names host:port/database (never the password) and says what
// to do, wrapping ErrBadURL, ErrUnavailable, ErrAccessDenied,
// ErrNoDatabase or ErrNoPrivilege. When the database goes away, Ping and the methods return
// errors wrapping ErrUnavailable; the pool reconnects by itself once it is
// back. PostgreSQL text holds no NUL byte and only valid UTF-8: such a key
// is "not found", such a value ErrUnstorable.
package pgstore
