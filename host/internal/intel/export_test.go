package intel

import "time"

// SetSlowPeerStall shortens how long s's streamed answers wait for a peer
// that reads nothing, so that a test need not wait the default.
func SetSlowPeerStall(s *Service, d time.Duration) {
	s.mu.Lock()
	s.stall = d
	s.mu.Unlock()
}
