// Package session turns a transport connection — bytes from any transport
// plugin, which the host does not trust — into an authenticated DPTP session:
// TLS 1.3 with mutual certificates and ALPN "dptp/1", then a HELLO exchange.
//
// Both sides derive the peer's node_id from the public key in its
// certificate (never from the certificate's CN alone) and the dialing side
// checks it against the node_id it meant to reach, so a transport, hub or
// relay in the middle can neither read, forge nor impersonate. Failed
// handshakes are rate-limited per source; handshakes in progress are bounded
// per source and in total by a Gate, and last at most 10 s, so a flood of
// idle connections pins bounded memory. Until Session.Trust, a peer's frames
// are limited to StrangerMaxFrame.
package session
