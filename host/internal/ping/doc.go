// Package ping is the liveness capability: it answers a peer's PING with a
// PONG and measures the round trip to a connected peer, which
// `dpc peers --rtt` shows. It is the worked example of "Adding a
// capability" in package network's documentation: one service, one API
// route file, one line of node wiring.
package ping
