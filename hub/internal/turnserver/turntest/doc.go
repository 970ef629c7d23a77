// Package turntest drives a TURN server from tests with pion/turn's
// client: allocations on loopback and a UDP echo peer to relay to.
package turntest
