// Package chat keeps one-to-one conversations durable: every message, in
// order per conversation, deduplicated by (sender, message id), and the
// outbox of messages the user sent that the peer has not acknowledged yet.
// A message is written to the conversation and the outbox in one badger
// transaction before the user is told it is sent, so a crash loses nothing.
// A conversation is only ever read a page at a time (After, Before: at most
// MaxPageSize messages and a few MiB of text), with an opaque Cursor, so no
// reader holds a whole conversation in memory.
//
// Keys (see package store for the key space):
//
//	msg/<peer>/<8-byte big-endian Unix ns>/<message id>   the message's metadata (JSON, no text)
//	msgtext/<peer>/<8-byte big-endian Unix ns>/<message id> its text (kept apart: state changes stay small)
//	msgid/<peer>/<sender>/<message id>                     → its msg/ key (dedup)
//	outbox/<peer>/<8-byte big-endian Unix ns>/<message id> → empty (pending delivery)
package chat
