package chanstate

import (
	"slices"
	"testing"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
)

// TestRemovalsBoundWhatARemovedMemberIsServed: Removals names the
// accepted remove of a node (not a refused one, nothing for a member), and
// InPast tells the ops up to and including it from those after or
// concurrent with it: what a removed member may still be served.
func TestRemovalsBoundWhatARemovedMemberIsServed(t *testing.T) {
	a, b, c := nodes[0], nodes[1], nodes[2]
	ch, create := newChain(t, a)
	addB := ch.add(a, b, chanop.PermAll, create.ID(), create)
	addC := ch.add(a, c, chanop.PermRead|chanop.PermWrite, create.ID(), addB)
	before := ch.post(c, create.ID(), addC)
	removeC := ch.remove(a, c.NodeID, []string{a.NodeID, b.NodeID}, before)
	concurrent := ch.post(b, create.ID(), before)
	after := ch.post(b, removeC.ID(), removeC)
	// C cannot remove B (no remove permission): refused, so no removal of B.
	refused := ch.remove(c, b.NodeID, []string{a.NodeID, c.NodeID}, before)
	l := load(t, ch.ch, create, addB, addC, before, removeC, concurrent, after, refused)

	for _, tc := range []struct {
		node string
		want []chanop.ID
	}{
		{c.NodeID, []chanop.ID{removeC.ID()}},
		{b.NodeID, nil},
		{a.NodeID, nil},
	} {
		if got := l.Removals(tc.node); !slices.Equal(got, tc.want) {
			t.Errorf("Removals(%s) = %v, want %v", tc.node, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		op   *chanop.Op
		in   bool
	}{
		{"create", create, true},
		{"an add before", addC, true},
		{"its own post before", before, true},
		{"the remove itself", removeC, true},
		{"a post concurrent with the remove", concurrent, false},
		{"a post after the remove", after, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := l.InPast(tc.op.ID(), removeC.ID()); got != tc.in {
				t.Fatalf("InPast = %v, want %v", got, tc.in)
			}
		})
	}
	if l.InPast(create.ID(), before.ID()) {
		t.Error("InPast of a post (not a control op) must be false")
	}
}
