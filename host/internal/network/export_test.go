package network

import "time"

// SetSlowPeerStall shortens how long n's streamed answers wait for a peer
// that reads nothing, so that a test need not wait the default.
func SetSlowPeerStall(n *Network, d time.Duration) {
	is := n.intel()
	is.mu.Lock()
	is.stall = d
	is.mu.Unlock()
}
