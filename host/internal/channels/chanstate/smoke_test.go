package chanstate

import (
	"slices"
	"testing"

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
