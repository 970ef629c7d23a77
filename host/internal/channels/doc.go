// Package channels is the channel capability of the node: it wires the pure
// packages chanop (op format, signatures), chanstate (causal log and
// deterministic state), chancrypt (inner AEAD layer, key wrapping) and
// chansync (anti-entropy) into a service of the network, with a store.
//
// # Store
//
// Everything lives in the node's badger store (store's key space):
//
//	chanop/<channel>/<op id>      8-byte big-endian apply seq (all ones while it waits for parents) || the op as received
//	chanseq/<channel>/<seq>       the op id applied at seq: the order a restart replays the log in
//	chankey/<channel>/<epoch>     an epoch key this node unwrapped, sealed at rest
//	chanmeta/<channel>            JSON: this node joined the channel (created or accepted)
//	chaninvite/<channel>          JSON: an invite received and not yet accepted
//
// An op evicted from a channel's bounded pending buffer (chanstate) is
// deleted from the store; on start the ops still waiting are put back in
// the buffer, bounded the same way. A chankey record that no longer opens
// is logged by name and skipped, not fatal: the replay takes the key again
// from the op that wrapped it to this node when that opens (rewriting the
// record), otherwise the posts of that epoch show as unreadable.
//
// The records of applied and waiting ops go through a group commit (the
// writer): the ops of one CHANNEL_OPS frame, and those that arrive while
// the previous batch is being written, are one store.SetMany (one disk
// sync), and their channel.op events are published once it returned.
// Received ops may be lost by a crash before their batch is written: sync
// fetches them again from the members that hold them. An op this node
// writes itself is on disk (with everything queued before it, its parents
// too) before Post and the other commands return.
//
// Post bodies are sealed with the channel key in the op itself; epoch keys
// are sealed under a node-local key (HKDF-SHA256 of the node's envelope
// private key, info "dpc-channel-at-rest/v1"), so no raw channel key is
// ever written. On start every joined channel's log is rebuilt from
// chanseq/ (parents always before children); post texts are read from disk
// when a page of the log is shown, never kept in memory.
//
// # Network
//
// A node pushes each op it writes (CHANNEL_OPS) to every member with a
// session, and, while logged in to a hub, to the others in mailbox
// envelopes sealed to each (mailbox.go, package mailbox), which arrive as
// a push would; members catch up with chansync on every new session and on
// `dpc channel sync`. CHANNEL_SYNC and CHANNEL_WANT are answered for a peer
// that is a member with read permission in the resolved state, and for a
// removed member up to its removal only (the remove is pushed to it too,
// so it learns it: proto/channels.md §8a); CHANNEL_WANT
// is rate-limited per peer (a peer's limiter is dropped once it has been
// idle for a full refill, when it equals a new one). Parents missing from a push are fetched from the
// sender in a goroutine of its own, not the one reading frames.
//
// An add op naming this node, pushed for a channel it has not joined, is an
// invite: kept (chaninvite/) only when the firewall allows the sender the
// "channel_invites" resource, refused otherwise with a log line and an
// event. The node neither joins nor syncs the channel until the user
// accepts; accepting fetches the log from the inviter.
package channels
