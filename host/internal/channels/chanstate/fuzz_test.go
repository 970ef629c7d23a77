package chanstate

import (
	"math/rand/v2"
	"testing"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
)

// FuzzResolveSeed lets the fuzzer pick simulation seeds: each generates a
// random channel (as in the property test), delivers it to two replicas in
// random orders, and checks both agree with each other and with the
// reference evaluator.
func FuzzResolveSeed(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 0xdeadbeef} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		ch, ops, c := runSim(t, seed)
		rng := rand.New(rand.NewPCG(seed, 2))
		st1 := deliver(t, rng, ch, ops, c).State()
		st2 := deliver(t, rng, ch, ops, c).State()
		if st1.Hash != st2.Hash {
			t.Fatalf("seed %d: replicas differ", seed)
		}
		ev, acc := refEvaluate(ch, ops)
		got := map[chanop.ID]bool{}
		for _, id := range st1.Accepted {
			got[id] = true
		}
		for _, op := range ops {
			if got[op.ID()] != acc[op.ID()] {
				t.Fatalf("seed %d: %s op %s: log %v, reference %v", seed, op.Header.Type, op.ID(), got[op.ID()], acc[op.ID()])
			}
		}
		if msg := ev.invariants(acc); msg != "" {
			t.Fatalf("seed %d: %s", seed, msg)
		}
	})
}
