package chanstate

import (
	"slices"
	"testing"
	"unsafe"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
)

func TestSmoke(t *testing.T) {
	a, b := nodes[0], nodes[1]
	c, create := newChain(t, a)
	add := c.add(a, b, chanop.PermRead|chanop.PermWrite, create.ID(), create)
	p1 := c.post(b, create.ID(), add)
	l := load(t, c.ch, create, add, p1)
	st := l.State()
	if len(st.Members) != 2 || len(st.Posts) != 1 || len(st.Accepted) != 3 {
		t.Fatalf("state %+v refused %v", st, st.Refused)
	}
}

// TestMetaIsTheLogsOwnParentsAndOrder: Meta answers sync's walks from
// memory with an op's parents and an index after theirs, and nothing for an
// op that only waits for parents. Before, the service read and decoded
// every walked op from its store for this.
func TestMetaIsTheLogsOwnParentsAndOrder(t *testing.T) {
	a, b := nodes[0], nodes[1]
	c, create := newChain(t, a)
	add := c.add(a, b, chanop.PermRead|chanop.PermWrite, create.ID(), create)
	p1 := c.post(b, create.ID(), add)
	p2 := c.post(a, create.ID(), add)
	merge := c.post(b, create.ID(), p1, p2)
	orphan := c.post(b, create.ID(), c.post(b, create.ID(), merge))
	l := load(t, c.ch, create, add, p2, p1, merge)
	if _, err := l.Add(orphan); err != nil {
		t.Fatal(err)
	}
	for name, op := range map[string]*chanop.Op{"create": create, "add": add, "post": p1, "merge": merge} {
		t.Run(name, func(t *testing.T) {
			parents, idx, ok := l.Meta(op.ID())
			if !ok || !slices.Equal(parents, op.Header.Parents) {
				t.Fatalf("Meta: %v %v, want parents %v", parents, ok, op.Header.Parents)
			}
			for _, p := range parents {
				if _, pi, _ := l.Meta(p); pi >= idx {
					t.Fatalf("parent %s at index %d, the op at %d", p, pi, idx)
				}
			}
		})
	}
	if _, _, ok := l.Meta(orphan.ID()); ok {
		t.Fatal("Meta of an op waiting for parents")
	}
}

// TestPostEntryStaysSmall: a log holds one entry per op for good, so an
// accepted post's entry is 128 bytes with nothing besides (no op, no
// control or edit fields); control ops and edits keep theirs. Before, every
// entry was 176 bytes, 4.8 MB more per 100k posts.
func TestPostEntryStaysSmall(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n > 128 {
		t.Fatalf("an entry is %d bytes, want at most 128", n)
	}
	a, b := nodes[0], nodes[1]
	c, create := newChain(t, a)
	add := c.add(a, b, chanop.PermRead|chanop.PermWrite, create.ID(), create)
	p1 := c.post(b, create.ID(), add)
	l := load(t, c.ch, create, add, p1)
	if _, ok, why := l.Status(p1.ID()); !ok {
		t.Fatalf("post refused: %v", why)
	}
	for name, tc := range map[string]struct {
		id    chanop.ID
		extra bool
	}{"post": {p1.ID(), false}, "create": {create.ID(), true}, "add": {add.ID(), true}} {
		t.Run(name, func(t *testing.T) {
			if got := l.entries[tc.id].x != nil; got != tc.extra {
				t.Fatalf("extra part held: %v, want %v", got, tc.extra)
			}
		})
	}
}
