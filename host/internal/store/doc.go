// Package store is the host's local database: badger v4 under one directory
// (normally $DPC_HOME/db), tuned for a desktop (small memtables and caches,
// 64 MiB value log files) and with synchronous writes, so that a write that
// returned — for example a message we acknowledged — survives a crash.
//
// Only one process can open a directory; a second one gets ErrLocked.
//
// # Key space
//
// Keys are byte strings made of '/'-separated parts, the first of which names
// the kind of record. Iterate walks one prefix in key order, so parts that
// must sort (times) are written as fixed-width big-endian integers.
// The prefixes below are the plan; the code that owns each kind defines the
// exact encoding of the rest of its key and of its values.
//
//	meta/schema_version                     decimal schema version of this database (written by Open; currently 1)
//	meta/...                                other bookkeeping of the store itself
//	msg/<conversation>/<time>/<message id>  messages by conversation and time (8-byte big-endian Unix nanoseconds)
//	outbox/<peer node_id>/<time>/<message id> messages accepted from the user and not yet acknowledged by the peer
//	peer/<node_id>                          known peers: display name, last addresses, pinned certificate, trust
//	chanop/<channel id>/<op id>             signed channel operations as received (8-byte apply seq || op), package channels
//	chanseq/<channel id>/<seq>              op ids in apply order, replayed at start to rebuild each channel's log
//	chankey/<channel id>/<epoch id>         channel epoch keys this node unwrapped, sealed under a node-local key
//	chanmeta/<channel id>                   channels this node joined
//	chaninvite/<channel id>                 channel invites received and not yet accepted
//	mbseen/<hex SHA-256 of an envelope>     mailbox envelopes delivered, kept (badger TTL) until they would expire (package mailbox)
//	knowledge/<commit id>                   knowledge commits and their votes
//	hubtoken/<hub url>                      cached hub tokens
//	intro/recv/<subject>/<voucher>          introductions received from contacts (package introductions)
//	intro/sent/<subject>/<contact>          introductions this node gave its contacts
//	intro/queued/<contact>/<subject>        introductions waiting for the contact to connect
//
// A message the user sent is written to msg/ and outbox/ before the UI
// reports it as sent.
package store
