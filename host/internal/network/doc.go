// Package network connects this node to its peers. It listens on every
// running transport plugin, dials contacts from their cached addresses with
// exponential backoff, turns every transport connection into an
// authenticated session (package session), keeps one session per peer, and
// runs the chat protocol over it: SEND_TEXT from the durable outbox until the
// peer's ACK, deduplicated storage of what arrives, contact requests from
// strangers, and history sync on reconnect — every inbound request checked
// by the firewall against the peer's verified node_id. What strangers can
// make the node keep is bounded by StrangerLimits (strangers.go).
package network
