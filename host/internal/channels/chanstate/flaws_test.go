package chanstate

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
)

// One test per DMPC flaw (reference/dmpc-facts.md §9) that concerns the op
// format and the state machine. Each would fail on DMPC's behaviour.

// DMPC: creating a user with an existing id replaced its keys and
// permissions (account takeover).
func TestAccountTakeoverFlaw_ReAddingAMemberIsRefused(t *testing.T) {
	w := newWorld(t, chanop.PermRead|chanop.PermWrite, chanop.PermAll)
	// C (who may invite) re-adds B, who is a member, with C's own key under B's node_id.
	forged := addBody(w.C, chanop.PermAll, w.ep)
	forged.Member = w.b
	takeover := w.op(w.C, []*chanop.Op{w.addC}, chanop.ID{}, forged)
	// A removes B, then C adds B again (same keys: still refused, once a member always a member).
	rm := w.remove(w.A, w.b, []string{w.a, w.c}, w.addC)
	readd := w.add(w.C, w.B, chanop.PermRead, rm.ID(), rm)
	l := load(t, w.ch, append(w.base, takeover, rm, readd)...)
	if ok, reason := accepted(t, l, takeover); ok || !errors.Is(reason, ErrMemberKey) {
		t.Fatalf("add of a member's node_id with other keys: accepted=%v reason=%v", ok, reason)
	}
	if ok, reason := accepted(t, l, readd); ok || !errors.Is(reason, ErrReAdd) {
		t.Fatalf("re-add after removal: accepted=%v reason=%v", ok, reason)
	}
	for _, m := range l.State().Members {
		if m.NodeID == w.b {
			t.Fatal("B is a member again")
		}
	}
}

// DMPC: user.add could grant every permission, beyond the grantor's own.
func TestPrivilegeEscalationFlaw_GrantBeyondGrantorIsRefused(t *testing.T) {
	w := newWorld(t, chanop.PermRead|chanop.PermWrite|chanop.PermInvite|chanop.PermAdmin, chanop.PermRead)
	g := w.grant(w.B, w.c, chanop.PermRead|chanop.PermClose, w.addC)
	self := w.grant(w.B, w.b, chanop.PermAll, w.addC)
	add := w.add(w.B, w.D, chanop.PermRead|chanop.PermRemove, w.ep, w.addC)
	ok := w.grant(w.B, w.c, chanop.PermRead|chanop.PermWrite, w.addC)
	l := load(t, w.ch, append(w.base, g, self, add, ok)...)
	for _, op := range []*chanop.Op{g, self, add} {
		if acc, reason := accepted(t, l, op); acc || !errors.Is(reason, ErrBeyondGrant) {
			t.Fatalf("%s beyond the grantor: accepted=%v reason=%v", op.Header.Type, acc, reason)
		}
	}
	if acc, reason := accepted(t, l, ok); !acc {
		t.Fatalf("grant within the grantor's permissions refused: %v", reason)
	}
}

// DMPC: no replay protection, and a replayed operation was simply applied
// again. Here a replay is a no-op, another encoding or signature of a known
// op is an equivocation, and an op of one channel does nothing in another.
func TestReplayFlaw_ReplayIdempotentOtherBytesRefused(t *testing.T) {
	w := newWorld(t, chanop.PermAll, chanop.PermAll)
	post := w.post(w.B, w.ep, w.addC)
	l := load(t, w.ch, append(w.base, post)...)
	before := l.State().Hash
	res, err := l.Add(post)
	if err != nil || !res.Duplicate || l.Len() != 4 || l.State().Hash != before {
		t.Fatalf("replay: %+v %v", res, err)
	}
	resigned := *post
	resigned.Sig = bytes.Clone(post.Sig)
	resigned.Sig[0] ^= 1
	if _, err := l.Add(&resigned); !errors.Is(err, ErrEquivocation) {
		t.Fatalf("same id, other signature: %v", err)
	}
	other, otherCreate := newChain(t, w.A)
	if _, err := New(other.ch, Config{}).Add(post); !errors.Is(err, ErrWrongChannel) {
		t.Fatalf("op of another channel: %v", err)
	}
	if _, err := l.Add(otherCreate); !errors.Is(err, ErrWrongChannel) {
		t.Fatalf("create of another channel: %v", err)
	}
	// A re-encoding (a non-minimal length) is not even decodable.
	wire := post.Encode()
	reenc := append([]byte{wire[0] | 0x80, 0x00}, wire[1:]...)
	if _, err := chanop.Decode(reenc); !errors.Is(err, chanop.ErrMalformed) {
		t.Fatalf("re-encoded op: %v", err)
	}
}

// DMPC: the active flag was never enforced; a deactivated user still
// signed. Here a removed member's later ops, and its ops concurrent with
// the removal, are refused on every replica whatever the order.
func TestDeactivatedMemberFlaw_RemovedMembersOpsRefused(t *testing.T) {
	w := newWorld(t, chanop.PermAll, chanop.PermAll)
	rm := w.remove(w.A, w.c, []string{w.a, w.b}, w.addC)
	later := w.post(w.C, w.ep, rm)
	concurrent := w.post(w.C, w.ep, w.addC)
	laterGrant := w.grant(w.C, w.b, chanop.PermRead, rm)
	ops := append(w.base, rm, later, concurrent, laterGrant)
	for _, order := range [][]*chanop.Op{ops, {ops[0], ops[1], ops[2], ops[5], ops[6], ops[4], ops[3]}} {
		l := load(t, w.ch, order...)
		for _, op := range []*chanop.Op{later, concurrent, laterGrant} {
			if ok, reason := accepted(t, l, op); ok {
				t.Fatalf("removed member's %s accepted (%v)", op.Header.Type, reason)
			}
		}
	}
}

// DMPC: a close could be shortened after the fact by an earlier timestamp,
// and a message at the close time survived or not by arrival order. Here
// times decide nothing: a post the close saw stays, a post concurrent with
// it goes, whatever their timestamps and arrival order.
func TestCloseOrderFlaw_CloseIsOrderIndependent(t *testing.T) {
	w := newWorld(t, chanop.PermAll, chanop.PermAll)
	w.time = 5000
	seen := w.post(w.B, w.ep, w.addC) // later timestamp than the close below
	w.time = 100
	cl := w.close(w.A, seen)
	w.time = 50
	concurrent := w.post(w.C, w.ep, w.addC) // earlier timestamp, but concurrent
	cl2 := w.close(w.B, w.addC)
	ops := append(w.base, seen, cl, concurrent, cl2)
	var hash [32]byte
	for i, order := range [][]*chanop.Op{ops, {ops[0], ops[1], ops[2], ops[6], ops[5], ops[4], ops[3]}, {ops[0], ops[1], ops[2], ops[4], ops[5], ops[6], ops[3]}} {
		l := load(t, w.ch, order...)
		if ok, _ := accepted(t, l, seen); !ok {
			t.Fatal("post the close saw was refused")
		}
		if ok, _ := accepted(t, l, concurrent); ok {
			t.Fatal("post concurrent with the close accepted")
		}
		st := l.State()
		if i == 0 {
			hash = st.Hash
		} else if st.Hash != hash {
			t.Fatal("arrival order changed the closed state")
		}
	}
}

// DMPC: equal timestamps got equal positions; the tie-break was a TODO.
// Here ties in time are broken by op id: distinct positions, same everywhere.
func TestTieFlaw_EqualTimesOrderedByOpID(t *testing.T) {
	w := newWorld(t, chanop.PermAll, chanop.PermAll)
	var posts []*chanop.Op
	for i := range 8 {
		w.time = 7000
		author := w.B
		if i%2 == 1 {
			author = w.C
		}
		posts = append(posts, w.post(author, w.ep, w.addC))
	}
	l1 := load(t, w.ch, append(w.base, posts...)...)
	rev := append([]*chanop.Op(nil), w.base...)
	for i := len(posts) - 1; i >= 0; i-- {
		rev = append(rev, posts[i])
	}
	l2 := load(t, w.ch, rev...)
	p1, p2 := l1.State().Posts, l2.State().Posts
	if len(p1) != 8 || len(p2) != 8 {
		t.Fatalf("posts %d %d", len(p1), len(p2))
	}
	for i := range p1 {
		if p1[i].ID != p2[i].ID {
			t.Fatal("display order depends on arrival order")
		}
		if i > 0 && bytes.Compare(p1[i-1].ID[:], p1[i].ID[:]) >= 0 {
			t.Fatal("equal times not ordered by op id")
		}
	}
}

// DMPC: operations naming an unknown user were dropped, never retried.
// Here an op whose parents are missing waits and is applied with
// everything it unblocks when they arrive.
func TestDroppedOpsFlaw_MissingParentsKeptAndApplied(t *testing.T) {
	w := newWorld(t, chanop.PermAll, chanop.PermAll)
	p1 := w.post(w.B, w.ep, w.addC)
	p2 := w.post(w.C, w.ep, p1)
	l := New(w.ch, Config{})
	for _, op := range []*chanop.Op{p2, p1, w.addC, w.addB} {
		res, err := l.Add(op)
		if err != nil || !res.Pending {
			t.Fatalf("%s: %+v %v", op.Header.Type, res, err)
		}
	}
	if got := l.Missing(); len(got) != 1 || got[0] != w.create.ID() {
		t.Fatalf("missing %v", got)
	}
	res, err := l.Add(w.create)
	if err != nil || len(res.Stored) != 5 || l.PendingLen() != 0 {
		t.Fatalf("create unblocks: %+v %v", res, err)
	}
	if st := l.State(); len(st.Posts) != 2 || len(st.Accepted) != 5 {
		t.Fatalf("posts %v accepted %d", st.Posts, len(st.Accepted))
	}
}

func TestPendingBufferBoundedOldestEvictedAndCounted(t *testing.T) {
	w := newWorld(t, chanop.PermAll, chanop.PermAll)
	l := New(w.ch, Config{MaxPending: 3})
	var posts []*chanop.Op
	for range 5 {
		posts = append(posts, w.post(w.B, w.ep, w.addC))
	}
	for _, p := range posts {
		if _, err := l.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if l.PendingLen() != 3 || l.Evicted() != 2 {
		t.Fatalf("pending %d evicted %d", l.PendingLen(), l.Evicted())
	}
	for _, op := range w.base {
		if _, err := l.Add(op); err != nil {
			t.Fatal(err)
		}
	}
	// The three newest were kept and applied; the two oldest must be resent.
	for i, p := range posts {
		if l.Has(p.ID()) != (i >= 2) {
			t.Fatalf("post %d stored=%v", i, l.Has(p.ID()))
		}
	}
	if st := l.State(); st.Evicted != 2 || st.Pending != 0 {
		t.Fatalf("state pending %d evicted %d", st.Pending, st.Evicted)
	}
}

func TestUnverifiableOpsAreNotStored(t *testing.T) {
	w := newWorld(t, chanop.PermAll, chanop.PermAll)
	l := load(t, w.ch, w.base...)
	stranger := w.post(w.D, w.ep, w.addC)
	if _, err := l.Add(stranger); !errors.Is(err, ErrUnknownAuthor) {
		t.Fatalf("op by a node never added: %v", err)
	}
	// D added concurrently: still unknown in the op's causal past.
	addD := w.add(w.A, w.D, chanop.PermAll, w.ep, w.addC)
	if _, err := l.Add(addD); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Add(stranger); !errors.Is(err, ErrUnknownAuthor) {
		t.Fatalf("op by a node added concurrently: %v", err)
	}
	forged := *w.post(w.B, w.ep, w.addC)
	forged.Sig = bytes.Clone(forged.Sig)
	forged.Sig[3] ^= 0x10
	if _, err := l.Add(&forged); !errors.Is(err, ErrVerify) {
		t.Fatalf("bad signature: %v", err)
	}
	if l.Has(stranger.ID()) || l.Has(forged.ID()) {
		t.Fatal("unverifiable op stored")
	}
}

func TestPendingPoolBoundsAllChannels(t *testing.T) {
	w1 := newWorld(t, chanop.PermAll, chanop.PermAll)
	w2 := newWorld(t, chanop.PermAll, chanop.PermAll)
	pool := NewPendingPool(3)
	l1 := New(w1.ch, Config{Pool: pool})
	l2 := New(w2.ch, Config{Pool: pool})
	var p1, p2 []*chanop.Op
	for range 3 {
		p1 = append(p1, w1.post(w1.B, w1.ep, w1.addC))
		p2 = append(p2, w2.post(w2.B, w2.ep, w2.addC))
	}
	for _, p := range p1 {
		if _, err := l1.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	// The pool is full of l1's ops: l2 has nothing of its own to evict.
	if _, err := l2.Add(p2[0]); !errors.Is(err, ErrPendingFull) {
		t.Fatalf("got %v, want ErrPendingFull", err)
	}
	if l2.Evicted() != 1 || pool.Len() != 3 {
		t.Fatalf("evicted %d, pool %d", l2.Evicted(), pool.Len())
	}
	// Parents arriving free the pool.
	for _, op := range w1.base {
		if _, err := l1.Add(op); err != nil {
			t.Fatal(err)
		}
	}
	if pool.Len() != 0 {
		t.Fatalf("pool %d after the parents arrived", pool.Len())
	}
	if _, err := l2.Add(p2[0]); err != nil || l2.PendingLen() != 1 || pool.Len() != 1 {
		t.Fatalf("%v pending %d pool %d", err, l2.PendingLen(), pool.Len())
	}
	// A log over its own share evicts its own oldest first.
	l3 := New(w1.ch, Config{Pool: pool, MaxPending: 1})
	if _, err := l3.Add(p1[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := l3.Add(p1[1]); err != nil || l3.Evicted() != 1 || pool.Len() != 2 {
		t.Fatalf("%v evicted %d pool %d", err, l3.Evicted(), pool.Len())
	}
}

// TestAddListsTheOpsItEvicted: the pending ops an Add evicts to make room
// are named in its Result, so the service can drop their stored bytes.
// Before, only a count was kept and evicted ops stayed on disk.
func TestAddListsTheOpsItEvicted(t *testing.T) {
	w := newWorld(t, chanop.PermAll, chanop.PermAll)
	pool := NewPendingPool(3)
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"log's own bound", Config{MaxPending: 2}},
		{"shared pool full", Config{Pool: pool}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := New(w.ch, tc.cfg)
			var posts []*chanop.Op
			for range 5 {
				posts = append(posts, w.post(w.B, w.ep, w.addC))
			}
			var evicted []chanop.ID
			for _, p := range posts {
				res, err := l.Add(p)
				if err != nil {
					t.Fatal(err)
				}
				evicted = append(evicted, res.Evicted...)
			}
			keep := l.PendingLen()
			want := make([]chanop.ID, 0, len(posts)-keep)
			for _, p := range posts[:len(posts)-keep] {
				want = append(want, p.ID())
			}
			if !slices.Equal(evicted, want) || uint64(len(evicted)) != l.Evicted() {
				t.Fatalf("evicted %v (count %d), want the oldest %v", evicted, l.Evicted(), want)
			}
		})
	}
}
