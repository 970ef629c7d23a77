package chanstate

import (
	"reflect"
	"testing"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
)

// sameControl fails unless ctl holds State's control part and no content.
func sameControl(t *testing.T, l *Log, ctl *State) {
	t.Helper()
	st := l.State()
	want := *st
	want.Accepted, want.Posts, want.Refused, want.Hash = nil, nil, nil, [32]byte{}
	if !reflect.DeepEqual(*ctl, want) {
		t.Fatalf("Control:\n%+v\nwant State's control part:\n%+v", *ctl, want)
	}
}

// TestControlStateIsNotRebuiltByPosts: the control state (members,
// permissions, epochs) a node reads before each of its posts is kept
// across posts and rebuilt only when a control op arrives. Before, the
// service read State, which walks every stored op again after each post:
// posting cost grew with the channel's history (a 2,000-post channel spent
// a third of its CPU there).
func TestControlStateIsNotRebuiltByPosts(t *testing.T) {
	a, b := nodes[0], nodes[1]
	c, create := newChain(t, a)
	add := c.add(a, b, chanop.PermRead|chanop.PermWrite, create.ID(), create)
	l := load(t, c.ch, create, add)
	last := add
	for range 50 {
		last = c.post(b, create.ID(), last)
		if _, err := l.Add(last); err != nil {
			t.Fatal(err)
		}
	}
	before := l.Control()
	sameControl(t, l, before)

	for _, tc := range []struct {
		name    string
		op      func() *chanop.Op
		rebuilt bool
	}{
		{name: "a post keeps it", op: func() *chanop.Op { return c.post(a, create.ID(), last) }},
		{name: "a grant rebuilds it", op: func() *chanop.Op { return c.grant(a, b.NodeID, chanop.PermRead, last) }, rebuilt: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			last = tc.op()
			if _, err := l.Add(last); err != nil {
				t.Fatal(err)
			}
			ctl := l.Control()
			if (ctl != before) != tc.rebuilt {
				t.Fatalf("control state rebuilt: %v, want %v", ctl != before, tc.rebuilt)
			}
			sameControl(t, l, ctl)
			before = ctl
		})
	}
	if p := memberPerm(before, b.NodeID); p != chanop.PermRead {
		t.Fatalf("after the grant: %s holds %s, want read", b.NodeID, p)
	}
}

func memberPerm(st *State, node string) chanop.Perm {
	for _, m := range st.Members {
		if m.NodeID == node {
			return m.Perms
		}
	}
	return 0
}
