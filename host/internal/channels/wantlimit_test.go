package channels

import (
	"strconv"
	"testing"
	"time"
)

// TestWantLimitersOfIdlePeersArePruned: the per-peer CHANNEL_WANT limiters
// stay bounded by the peers that asked within one refill time, however
// many distinct peers asked before, and pruning never forgives a peer that
// spent its budget within that time. Before, every peer's limiter was kept
// forever.
func TestWantLimitersOfIdlePeersArePruned(t *testing.T) {
	n := newOfflineNode(t)
	s := n.start(t, 0)
	now := time.Unix(1_000_000, 0)
	s.clock = func() time.Time { return now }
	refill := time.Duration(float64(s.wantBurst) / float64(s.wantRate) * float64(time.Second))

	for range s.wantBurst {
		s.allowWant("flooder")
	}
	if s.allowWant("flooder") {
		t.Fatal("the flooder got a want beyond its burst")
	}
	const perRound = 500
	for round := range 20 {
		for i := range perRound {
			if !s.allowWant("peer-" + strconv.Itoa(round) + "-" + strconv.Itoa(i)) {
				t.Fatal("a new peer's first want was refused")
			}
		}
		if round == 0 && s.allowWant("flooder") {
			t.Fatal("pruning within the refill time forgave the flooder")
		}
		if n := len(s.wants); n > 2*perRound+minWantPrune {
			t.Fatalf("round %d: %d limiters kept, want at most %d", round, n, 2*perRound+minWantPrune)
		}
		now = now.Add(refill + time.Second)
	}
}
