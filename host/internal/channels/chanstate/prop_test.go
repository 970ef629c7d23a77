package chanstate

import (
	"crypto"
	"errors"
	"flag"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
)

var (
	propCases = flag.Int("chanstate.cases", 300, "property test: number of random channels")
	propSeed  = flag.Uint64("chanstate.seed", 0, "property test: run only this seed")
)

// memoChecks run the real checks once per (op id, signature) and remember
// the result: the property test replays every op into many logs, and
// Ed25519 under -race would dominate its run time.
func memoChecks() checks {
	type key struct {
		id  chanop.ID
		sig string
	}
	type res struct {
		pub crypto.PublicKey
		err error
	}
	created, verified, members := map[key]res{}, map[key]error{}, map[string]res{}
	return checks{
		create: func(op *chanop.Op) (crypto.PublicKey, error) {
			k := key{op.ID(), string(op.Sig)}
			r, ok := created[k]
			if !ok {
				r.pub, r.err = realChecks.create(op)
				created[k] = r
			}
			return r.pub, r.err
		},
		verify: func(op *chanop.Op, pub crypto.PublicKey) error {
			k := key{op.ID(), string(op.Sig)}
			err, ok := verified[k]
			if !ok {
				err = realChecks.verify(op, pub)
				verified[k] = err
			}
			return err
		},
		member: func(b chanop.AddBody) (crypto.PublicKey, error) {
			k := string(b.Encode())
			r, ok := members[k]
			if !ok {
				r.pub, r.err = realChecks.member(b)
				members[k] = r
			}
			return r.pub, r.err
		},
	}
}

// sim plays 3 to 6 members writing to one channel, each from its own view
// (its own Log), with syncs, partitions and stale or forbidden actions.
type sim struct {
	t      *testing.T
	rng    *rand.Rand
	n      int
	ch     chanop.ID
	views  []*Log
	ops    []*chanop.Op
	byID   map[chanop.ID]*chanop.Op
	clock  int64
	group  []int // partition group per node
	checks checks
}

func (s *sim) emit(op *chanop.Op, by int) {
	s.ops = append(s.ops, op)
	s.byID[op.ID()] = op
	if _, err := s.views[by].Add(op); err != nil {
		s.t.Fatalf("author's own view refused its op: %v", err)
	}
}

// sync gives node to everything from's view holds, in a random order (the
// log must buffer what comes before its parents).
func (s *sim) sync(from, to int) {
	var ids []chanop.ID
	for _, e := range s.views[from].seq {
		ids = append(ids, e.id)
	}
	s.rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	for _, id := range ids {
		if _, err := s.views[to].Add(s.byID[id]); err != nil {
			s.t.Fatalf("sync: %v", err)
		}
	}
}

func (s *sim) build(by int, body chanop.Body, epoch chanop.ID) *chanop.Op {
	v := s.views[by]
	parents := v.Heads()
	// Sometimes write from a stale view: drop some heads (still a valid DAG).
	if len(parents) > 1 && s.rng.IntN(4) == 0 {
		parents = parents[:1+s.rng.IntN(len(parents)-1)]
	}
	s.clock += int64(s.rng.IntN(3)) // equal times happen: ties by op id
	d, err := chanop.NewDraft(body.Type(), s.ch, parents, nodes[by].NodeID, epoch, s.clock)
	if err != nil {
		s.t.Fatal(err)
	}
	// The nonce from the seed, so that a seed reproduces the same op ids.
	s.fill(d.Header.Nonce[:])
	op, err := d.Sign(nodes[by].Signer, body)
	if err != nil {
		s.t.Fatal(err)
	}
	return op
}

func (s *sim) fill(b []byte) {
	for i := range b {
		b[i] = byte(s.rng.Uint32())
	}
}

func (s *sim) bytes(n int) []byte {
	b := make([]byte, n)
	s.fill(b)
	return b
}

// keys wraps a new epoch (opaque bytes) to members, sorted.
func (s *sim) keys(members []string) []chanop.WrappedFor {
	out := keyList(members)
	for i := range out {
		s.fill(out[i].WrappedKey)
	}
	return out
}

func (s *sim) add(i int, perms chanop.Perm, epoch chanop.ID) chanop.AddBody {
	b := addBody(nodes[i], perms, epoch)
	s.fill(b.WrappedKey)
	return b
}

func memberIDs(st *State) []string {
	var out []string
	for _, m := range st.Members {
		out = append(out, m.NodeID)
	}
	return out
}

// step makes node by do one random thing from its view.
func (s *sim) step(by int) {
	v := s.views[by]
	st := v.State()
	me := nodes[by].NodeID
	members := memberIDs(st)
	other := nodes[s.rng.IntN(s.n)].NodeID
	epoch := st.Current
	if len(st.Epochs) > 1 && s.rng.IntN(8) == 0 {
		epoch = st.Epochs[s.rng.IntN(len(st.Epochs))].ID // an older epoch
	}
	randPerm := func() chanop.Perm { return chanop.Perm(s.rng.IntN(64)) | chanop.PermRead }
	switch k := s.rng.IntN(100); {
	case k < 40:
		s.emit(s.build(by, chanop.PostBody{Sealed: s.bytes(16)}, epoch), by)
	case k < 55:
		target := s.rng.IntN(s.n)
		s.emit(s.build(by, s.add(target, randPerm(), epoch), chanop.ID{}), by)
	case k < 63:
		target := other
		if s.rng.IntN(5) == 0 {
			target = me // leave
		}
		rest := slices.DeleteFunc(slices.Clone(members), func(m string) bool { return m == target })
		if s.rng.IntN(10) == 0 && len(rest) > 0 {
			rest = rest[1:] // a bad key list
		}
		s.emit(s.build(by, chanop.RemoveBody{Target: target, Keys: s.keys(rest)}, chanop.ID{}), by)
	case k < 72:
		s.emit(s.build(by, chanop.GrantBody{Target: other, Perms: randPerm()}, chanop.ID{}), by)
	case k < 76:
		s.emit(s.build(by, chanop.RekeyBody{Keys: s.keys(members)}, chanop.ID{}), by)
	case k < 79:
		s.emit(s.build(by, chanop.CloseBody{}, chanop.ID{}), by)
	case k < 90:
		var mine []Post
		for _, p := range st.Posts {
			if p.Author == me || s.rng.IntN(6) == 0 {
				mine = append(mine, p)
			}
		}
		if len(mine) == 0 {
			return
		}
		p := mine[s.rng.IntN(len(mine))]
		if s.rng.IntN(2) == 0 {
			s.emit(s.build(by, chanop.EditBody{Target: p.ID, Sealed: s.bytes(16)}, epoch), by)
		} else {
			s.emit(s.build(by, chanop.RedactBody{Target: p.ID}, chanop.ID{}), by)
		}
	default:
		// Sync with a node of the same partition group.
		peer := s.rng.IntN(s.n)
		if s.group[peer] == s.group[by] && peer != by {
			s.sync(peer, by)
		}
	}
}

// runSim generates one random channel and returns all its ops.
func runSim(t *testing.T, seed uint64) (chanop.ID, []*chanop.Op, checks) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := &sim{t: t, rng: rng, n: 3 + rng.IntN(4), byID: map[chanop.ID]*chanop.Op{}, clock: 1000, checks: memoChecks()}
	creator := 0
	cb := createBody(nodes[creator], "prop")
	s.fill(cb.WrappedKey)
	d, err := chanop.NewDraft(chanop.TypeCreate, chanop.ID{}, nil, nodes[creator].NodeID, chanop.ID{}, s.clock)
	if err != nil {
		t.Fatal(err)
	}
	s.fill(d.Header.Nonce[:])
	create, err := d.Sign(nodes[creator].Signer, cb)
	if err != nil {
		t.Fatal(err)
	}
	s.ch = create.ID()
	for range s.n {
		v := New(s.ch, Config{})
		v.checks = s.checks
		s.views = append(s.views, v)
	}
	s.group = make([]int, s.n)
	s.emit(create, creator)
	// Everyone starts with the create so that invitees can act once added.
	for i := 1; i < s.n; i++ {
		s.sync(creator, i)
	}
	// A few adds so there is someone to race with.
	for i := 1; i < s.n; i++ {
		st := s.views[creator].State()
		s.emit(s.build(creator, s.add(i, chanop.Perm(rng.IntN(64))|chanop.PermRead|chanop.PermWrite, st.Current), chanop.ID{}), creator)
	}
	for i := 1; i < s.n; i++ {
		s.sync(creator, i)
	}
	steps := 15 + rng.IntN(30)
	for i := range steps {
		if i%10 == 0 {
			// New partition: each node in group 0 or 1 (or all together).
			for j := range s.group {
				s.group[j] = rng.IntN(2) * rng.IntN(2)
			}
		}
		s.step(rng.IntN(s.n))
	}
	return s.ch, s.ops, s.checks
}

// deliver feeds ops to a fresh replica in a random order with duplicates
// and drops that are resent at the end.
func deliver(t *testing.T, rng *rand.Rand, ch chanop.ID, ops []*chanop.Op, c checks) *Log {
	l := New(ch, Config{})
	l.checks = c
	order := slices.Clone(ops)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	var dropped []*chanop.Op
	for _, op := range order {
		switch rng.IntN(10) {
		case 0:
			dropped = append(dropped, op)
			continue
		case 1:
			if _, err := l.Add(op); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := l.Add(op); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(20) == 0 {
			l.State() // resolve mid-way: incremental paths must agree
		}
	}
	for _, op := range dropped {
		if _, err := l.Add(op); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// TestPropertyConvergesAndMatchesReference: random channels of 3–6 members
// (removals, concurrent removals, grants racing removals, closes, adds of
// the same node, stale views, forbidden actions), delivered to 4 replicas in
// random orders with duplicates and drops-and-resends, give byte-identical
// state hashes, and the accepted ops are exactly the reference evaluator's,
// which satisfies the rules checked directly on its result.
func TestPropertyConvergesAndMatchesReference(t *testing.T) {
	start := time.Now()
	cases := *propCases
	if testing.Short() {
		cases = 50
	}
	seeds := make([]uint64, 0, cases)
	if *propSeed != 0 {
		seeds = append(seeds, *propSeed)
	} else {
		for i := range cases {
			seeds = append(seeds, uint64(i+1)*0x2545f4914f6cdd1d)
		}
	}
	var totalOps, refusedOps int
	reasons := map[string]int{}
	for _, seed := range seeds {
		ch, ops, c := runSim(t, seed)
		rng := rand.New(rand.NewPCG(seed, 1))
		var want [32]byte
		var wantHeads []chanop.ID
		for r := range 4 {
			l := deliver(t, rng, ch, ops, c)
			st := l.State()
			if st.Pending != 0 {
				t.Fatalf("seed %d replica %d: %d ops still pending", seed, r, st.Pending)
			}
			if r == 0 {
				wantHeads = l.Heads()
			} else if !slices.Equal(l.Heads(), wantHeads) {
				t.Fatalf("seed %d (-chanstate.seed=%d): replica %d has other heads", seed, seed, r)
			}
			if r == 0 {
				want = st.Hash
				_, acc := refEvaluate(ch, ops)
				got := map[chanop.ID]bool{}
				for _, id := range st.Accepted {
					got[id] = true
				}
				for _, op := range ops {
					if got[op.ID()] != acc[op.ID()] {
						_, _, reason := l.Status(op.ID())
						t.Fatalf("seed %d (-chanstate.seed=%d): %s op %s by %s: log accepted=%v (reason %v), reference accepted=%v",
							seed, seed, op.Header.Type, op.ID(), op.Header.Author, got[op.ID()], reason, acc[op.ID()])
					}
				}
				totalOps += len(ops)
				refusedOps += len(st.Refused)
				for _, r := range st.Refused {
					for _, sentinel := range []error{ErrClosed, ErrNotMember, ErrNoPermission, ErrBeyondGrant, ErrReAdd, ErrCreator, ErrTarget, ErrKeyList, ErrEpoch, ErrRestricted, ErrAlreadyClosed} {
						if errors.Is(r.Reason, sentinel) {
							reasons[sentinel.Error()]++
						}
					}
				}
				continue
			}
			if st.Hash != want && testing.Verbose() {
				st0 := deliver(t, rand.New(rand.NewPCG(seed, 1)), ch, ops, c).State()
				t.Logf("replica 0: members %v epochs %v current %s closed %v accepted %d", st0.Members, st0.Epochs, st0.Current, st0.Closed, len(st0.Accepted))
				t.Logf("replica %d: members %v epochs %v current %s closed %v accepted %d", r, st.Members, st.Epochs, st.Current, st.Closed, len(st.Accepted))
				for i := range min(len(st0.Accepted), len(st.Accepted)) {
					if st0.Accepted[i] != st.Accepted[i] {
						t.Logf("accepted[%d] differs: %s vs %s", i, st0.Accepted[i], st.Accepted[i])
						break
					}
				}
			}
			if st.Hash != want {
				t.Fatalf("seed %d (-chanstate.seed=%d): replica %d state hash differs", seed, seed, r)
			}
		}
		ev, acc := refEvaluate(ch, ops)
		if msg := ev.invariants(acc); msg != "" {
			t.Fatalf("seed %d (-chanstate.seed=%d): %s", seed, seed, msg)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(reasons)) {
		t.Logf("refused %5d: %s", reasons[k], k)
	}
	t.Logf("%d channels, %d ops (%d refused), 4 replicas each, in %v", len(seeds), totalOps, refusedOps, time.Since(start).Round(time.Millisecond))
}
