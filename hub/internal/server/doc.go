// Package server is the hub's HTTP API and WebSocket signaling relay (see
// hub/API.md for the wire contract).
//
// The hub helps nodes find each other and set up connections; it never sees
// a message and cannot impersonate anyone: peers verify each other end to
// end. What it guarantees itself: every relayed signal carries the
// authenticated sender (sender_node_id is stamped by the hub, whatever the
// client wrote), one socket per node (a newer one replaces the older), per
// client rate limits that answer 429 with Retry-After, bounded bodies,
// messages and per-connection send queues (a reader too slow to keep up is
// dropped, not buffered without bound), and a socket that lives no longer
// than the access token it was opened with. With a TURN server
// (Config.TURN), GET /ice-servers gives logged-in nodes its credentials,
// and a logout revokes them.
package server
