package chanstate

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/identity"
)

type expect struct {
	op     *chanop.Op
	ok     bool
	reason error // sentinel, when !ok
}

// world is a channel of A (creator), B, C (added in that order, so A is
// senior to B, B to C) and the outsider D.
type world struct {
	*chain
	A, B, C, D         *identity.Identity
	create, addB, addC *chanop.Op
	ep                 chanop.ID
	base               []*chanop.Op
	a, b, c, d         string
	all                chanop.Perm
	rw                 chanop.Perm
}

func newWorld(t *testing.T, permB, permC chanop.Perm) *world {
	w := &world{A: nodes[0], B: nodes[1], C: nodes[2], D: nodes[3]}
	w.a, w.b, w.c, w.d = w.A.NodeID, w.B.NodeID, w.C.NodeID, w.D.NodeID
	w.all, w.rw = chanop.PermAll, chanop.PermRead|chanop.PermWrite
	w.chain, w.create = newChain(t, w.A)
	w.ep = w.create.ID()
	w.addB = w.add(w.A, w.B, permB, w.ep, w.create)
	w.addC = w.add(w.A, w.C, permC, w.ep, w.addB)
	w.base = []*chanop.Op{w.create, w.addB, w.addC}
	return w
}

func TestRules(t *testing.T) {
	cases := []struct {
		name string
		run  func(w *world) (ops []*chanop.Op, want []expect)
		// check inspects the final state.
		check func(t *testing.T, w *world, st *State)
	}{
		{name: "member removed concurrently with their own post: post refused", run: func(w *world) ([]*chanop.Op, []expect) {
			rm := w.remove(w.A, w.c, []string{w.a, w.b}, w.addC)
			post := w.post(w.C, w.ep, w.addC)
			return []*chanop.Op{rm, post}, []expect{{rm, true, nil}, {post, false, ErrRestricted}}
		}},
		{name: "member removed concurrently with their own grant: grant refused", run: func(w *world) ([]*chanop.Op, []expect) {
			rm := w.remove(w.A, w.b, []string{w.a, w.c}, w.addC)
			g := w.grant(w.B, w.c, w.rw|chanop.PermInvite, w.addC)
			return []*chanop.Op{rm, g}, []expect{{rm, true, nil}, {g, false, ErrRestricted}}
		}},
		{name: "two concurrent removals of each other: the senior author wins", run: func(w *world) ([]*chanop.Op, []expect) {
			bc := w.remove(w.B, w.c, []string{w.a, w.b}, w.addC)
			cb := w.remove(w.C, w.b, []string{w.a, w.c}, w.addC)
			return []*chanop.Op{cb, bc}, []expect{{bc, true, nil}, {cb, false, ErrRestricted}}
		}, check: func(t *testing.T, w *world, st *State) {
			if len(st.Members) != 2 {
				t.Fatalf("members %v", st.Members)
			}
		}},
		{name: "two concurrent closes: closed once by the senior, the other a no-op", run: func(w *world) ([]*chanop.Op, []expect) {
			cc := w.close(w.C, w.addC)
			cb := w.close(w.B, w.addC)
			return []*chanop.Op{cc, cb}, []expect{{cb, true, nil}, {cc, false, ErrAlreadyClosed}}
		}, check: func(t *testing.T, w *world, st *State) {
			if !st.Closed {
				t.Fatal("not closed")
			}
		}},
		{name: "post concurrent with the close: refused", run: func(w *world) ([]*chanop.Op, []expect) {
			cl := w.close(w.A, w.addC)
			post := w.post(w.B, w.ep, w.addC)
			return []*chanop.Op{post, cl}, []expect{{cl, true, nil}, {post, false, ErrRestricted}}
		}},
		{name: "anything after the close: refused", run: func(w *world) ([]*chanop.Op, []expect) {
			cl := w.close(w.A, w.addC)
			post := w.post(w.B, w.ep, cl)
			return []*chanop.Op{cl, post}, []expect{{cl, true, nil}, {post, false, ErrClosed}}
		}},
		{name: "close concurrent with the removal of its author: the senior wins", run: func(w *world) ([]*chanop.Op, []expect) {
			cl := w.close(w.B, w.addC)
			rm := w.remove(w.A, w.b, []string{w.a, w.c}, w.addC)
			return []*chanop.Op{cl, rm}, []expect{{rm, true, nil}, {cl, false, ErrRestricted}}
		}, check: func(t *testing.T, w *world, st *State) {
			if st.Closed {
				t.Fatal("closed by a removed member")
			}
		}},
		{name: "concurrent adds of the same node_id: one wins", run: func(w *world) ([]*chanop.Op, []expect) {
			byB := w.add(w.B, w.D, w.rw, w.ep, w.addC)
			byA := w.add(w.A, w.D, w.rw, w.ep, w.addC)
			return []*chanop.Op{byB, byA}, []expect{{byA, true, nil}, {byB, false, ErrReAdd}}
		}},
		{name: "grant lowering the author concurrent with their post: refused", run: func(w *world) ([]*chanop.Op, []expect) {
			g := w.grant(w.A, w.b, chanop.PermRead, w.addC)
			post := w.post(w.B, w.ep, w.addC)
			return []*chanop.Op{post, g}, []expect{{g, true, nil}, {post, false, ErrRestricted}}
		}},
		{name: "grant raising the author concurrent with their post: both accepted", run: func(w *world) ([]*chanop.Op, []expect) {
			g := w.grant(w.A, w.b, w.all&^chanop.PermAdmin, w.addC)
			post := w.post(w.B, w.ep, w.addC)
			return []*chanop.Op{post, g}, []expect{{g, true, nil}, {post, true, nil}}
		}},
		{name: "power from a refused grant is void: restriction wins transitively", run: func(w *world) ([]*chanop.Op, []expect) {
			rm := w.remove(w.A, w.b, []string{w.a, w.c}, w.addC)
			g := w.grant(w.B, w.c, w.rw|chanop.PermInvite, w.addC)
			add := w.add(w.C, w.D, chanop.PermRead, w.ep, g)
			return []*chanop.Op{add, g, rm}, []expect{{rm, true, nil}, {g, false, ErrRestricted}, {add, false, ErrNoPermission}}
		}},
		{name: "post after one's removal: refused", run: func(w *world) ([]*chanop.Op, []expect) {
			rm := w.remove(w.A, w.c, []string{w.a, w.b}, w.addC)
			post := w.post(w.C, w.ep, rm)
			return []*chanop.Op{rm, post}, []expect{{post, false, ErrNotMember}}
		}},
		{name: "leaving is allowed without the remove permission", run: func(w *world) ([]*chanop.Op, []expect) {
			leave := w.remove(w.C, w.c, []string{w.a, w.b}, w.addC)
			return []*chanop.Op{leave}, []expect{{leave, true, nil}}
		}},
		{name: "removing without the permission: refused", run: func(w *world) ([]*chanop.Op, []expect) {
			g := w.grant(w.A, w.c, w.rw, w.addC)
			rm := w.remove(w.C, w.b, []string{w.a, w.c}, g)
			return []*chanop.Op{g, rm}, []expect{{g, true, nil}, {rm, false, ErrNoPermission}}
		}},
		{name: "removing the creator: refused", run: func(w *world) ([]*chanop.Op, []expect) {
			rm := w.remove(w.B, w.a, []string{w.b, w.c}, w.addC)
			return []*chanop.Op{rm}, []expect{{rm, false, ErrCreator}}
		}},
		{name: "granting to the creator: refused", run: func(w *world) ([]*chanop.Op, []expect) {
			g := w.grant(w.B, w.a, chanop.PermRead, w.addC)
			return []*chanop.Op{g}, []expect{{g, false, ErrCreator}}
		}},
		{name: "a new epoch not wrapped to exactly the remaining members: refused", run: func(w *world) ([]*chanop.Op, []expect) {
			rm := w.remove(w.A, w.c, []string{w.a}, w.addC)
			rk := w.op(w.A, []*chanop.Op{w.addC}, chanop.ID{}, chanop.RekeyBody{Keys: keyList([]string{w.a, w.b, w.c, w.d})})
			return []*chanop.Op{rm, rk}, []expect{{rm, false, ErrKeyList}, {rk, false, ErrKeyList}}
		}},
		{name: "concurrent removals of different members: both stand, both epochs exposed", run: func(w *world) ([]*chanop.Op, []expect) {
			addD := w.add(w.A, w.D, w.rw, w.ep, w.addC)
			r1 := w.remove(w.A, w.c, []string{w.a, w.b, w.d}, addD)
			r2 := w.remove(w.B, w.d, []string{w.a, w.b, w.c}, addD)
			return []*chanop.Op{addD, r2, r1}, []expect{{r1, true, nil}, {r2, true, nil}}
		}, check: func(t *testing.T, w *world, st *State) {
			if len(st.Members) != 2 || !st.CurrentExposed || len(st.Epochs) != 3 {
				t.Fatalf("members %v epochs %v exposed %v", st.Members, st.Epochs, st.CurrentExposed)
			}
		}},
		{name: "member added concurrently with a removal lacks the new key: unkeyed", run: func(w *world) ([]*chanop.Op, []expect) {
			addD := w.add(w.A, w.D, w.rw, w.ep, w.addC)
			rm := w.remove(w.B, w.c, []string{w.a, w.b}, w.addC)
			return []*chanop.Op{rm, addD}, []expect{{rm, true, nil}, {addD, true, nil}}
		}, check: func(t *testing.T, w *world, st *State) {
			if st.Current == w.ep || len(st.Unkeyed) != 1 || st.Unkeyed[0] != w.d {
				t.Fatalf("current %s unkeyed %v", st.Current, st.Unkeyed)
			}
		}},
		{name: "a rekey after a removal is not exposed", run: func(w *world) ([]*chanop.Op, []expect) {
			rm := w.remove(w.A, w.c, []string{w.a, w.b}, w.addC)
			return []*chanop.Op{rm}, []expect{{rm, true, nil}}
		}, check: func(t *testing.T, w *world, st *State) {
			if st.Current == w.ep || st.CurrentExposed || !st.Epochs[0].Exposed || len(st.Unkeyed) != 0 {
				t.Fatalf("epochs %v current %s exposed %v", st.Epochs, st.Current, st.CurrentExposed)
			}
		}},
		{name: "post sealed with an epoch not in its causal past: refused", run: func(w *world) ([]*chanop.Op, []expect) {
			rk := w.op(w.A, []*chanop.Op{w.addC}, chanop.ID{}, chanop.RekeyBody{Keys: keyList([]string{w.a, w.b, w.c})})
			post := w.post(w.B, rk.ID(), w.addC)
			return []*chanop.Op{rk, post}, []expect{{rk, true, nil}, {post, false, ErrEpoch}}
		}},
		{name: "edit and redact of someone else's post: refused; of one's own: applied", run: func(w *world) ([]*chanop.Op, []expect) {
			p := w.post(w.B, w.ep, w.addC)
			bad := w.op(w.C, []*chanop.Op{p}, w.ep, chanop.EditBody{Target: p.ID(), Sealed: sealed(8)})
			badR := w.op(w.C, []*chanop.Op{p}, chanop.ID{}, chanop.RedactBody{Target: p.ID()})
			good := w.op(w.B, []*chanop.Op{p}, w.ep, chanop.EditBody{Target: p.ID(), Sealed: sealed(8)})
			return []*chanop.Op{good, p, bad, badR}, []expect{{bad, false, ErrTarget}, {badR, false, ErrTarget}, {good, true, nil}}
		}, check: func(t *testing.T, w *world, st *State) {
			if len(st.Posts) != 1 || !st.Posts[0].Edited || st.Posts[0].Redacted {
				t.Fatalf("posts %+v", st.Posts)
			}
		}},
		{name: "write needed to post", run: func(w *world) ([]*chanop.Op, []expect) {
			g := w.grant(w.A, w.c, chanop.PermRead, w.addC)
			post := w.post(w.C, w.ep, g)
			return []*chanop.Op{g, post}, []expect{{post, false, ErrNoPermission}}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, chanop.PermAll, chanop.PermRead|chanop.PermWrite|chanop.PermRemove|chanop.PermClose)
			ops, want := c.run(w)
			all := append(append([]*chanop.Op(nil), w.base...), ops...)
			// Every arrival order gives the same answer: try a few.
			var hash [32]byte
			for i := range 6 {
				order := append([]*chanop.Op(nil), all...)
				rand.New(rand.NewPCG(uint64(i), 7)).Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
				l := New(w.ch, Config{})
				for _, op := range order {
					if _, err := l.Add(op); err != nil {
						if errors.Is(err, ErrUnknownAuthor) {
							continue // D's ops: D was never added
						}
						t.Fatal(err)
					}
				}
				st := l.State()
				if i == 0 {
					hash = st.Hash
				} else if st.Hash != hash {
					t.Fatalf("arrival order %d changed the state", i)
				}
				for _, e := range want {
					ok, reason := accepted(t, l, e.op)
					if ok != e.ok || (!ok && !errors.Is(reason, e.reason)) {
						t.Fatalf("%s op: accepted=%v reason=%v, want accepted=%v reason=%v", e.op.Header.Type, ok, reason, e.ok, e.reason)
					}
				}
				if c.check != nil && i == 0 {
					c.check(t, w, st)
				}
			}
		})
	}
}
