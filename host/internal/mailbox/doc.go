// Package mailbox carries DPTP payloads to peers that have no session with
// this node, through the hub's mailbox, in envelopes the hub cannot read
// and that do not name their sender outside the sealed part (DESIGN §10:
// "never plaintext, and no sender on stored envelopes").
//
// # Envelope
//
// [Seal] and [Open] implement the format of proto/dptp.md, "Mailbox
// envelopes":
//
//	envelope  = "DPCMB1" || enc (32) || HPKE ciphertext of plaintext
//	plaintext = field(sender node_id) || field(certificate DER) ||
//	            created_ms (uint64 BE) || field(command) || field(payload) ||
//	            field(signature)
//	field(x)  = uint32 BE length of x || x
//
// HPKE is RFC 9180 base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256
// and ChaCha20-Poly1305, to the recipient's envelope key (peers.Peer, as
// verified in its HELLO), info "dpc-mailbox/v1" || recipient node_id. The
// signature is the sender's node key over "dpc-mailbox-envelope/v1\x00" ||
// recipient node_id || enc || the plaintext before the signature field, so
// an envelope cannot be re-sealed to someone else or have its fields
// swapped. Open checks the certificate derives the sender's node_id, the
// signature, and that the envelope is at most [MaxAge] old and at most
// [MaxSkew] ahead of the clock.
//
// # Service
//
// [Service] fetches the node's mailbox while it is logged in to a hub: at
// login and when the hub hints that an envelope arrived ([Service.Kick],
// called by hubsvc), and every minute. Each envelope is opened; refused if
// it was seen before (the replay set, store prefix mbseen/<SHA-256 of the
// envelope>, kept by badger until the envelope would expire anyway), if no
// capability registered its command with network.HandleMailbox, or if the
// firewall denies its sender the "mailbox" resource (a stranger matches no
// rule, so it is denied); otherwise handed to the capability's handler with
// the verified sender. Every envelope fetched is acknowledged, refused or
// not, with a log line for a refusal, so none comes back forever.
//
// [Service.Send] seals a payload to a peer whose envelope key its peer
// record holds (from its last session) and leaves it at the hub.
package mailbox
