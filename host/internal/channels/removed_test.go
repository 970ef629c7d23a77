package channels_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/host/internal/channels"
	"github.com/dpc-go/dpc/host/internal/nettest"
)

// TestRemovedMemberLearnsItsRemoval: after A removes C, C's node applies
// the remove (pushed to it by A, or served to it by a member's sync when
// it was away) with the ops before it: C's members no longer list C, its
// state says who removed it, its posts are refused with ErrRemoved naming
// A, and nothing written after the removal reaches it. Before, members
// refused C's sync altogether and C went on believing it was a member.
func TestRemovedMemberLearnsItsRemoval(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// away disconnects C from A until the removal is done (A's post
		// before the removal then reaches C only through the sync).
		away bool
	}{
		{name: "remove pushed to the removed member"},
		{name: "removal served by sync after a reconnect", away: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b, c := trio(t)
			ch, err := a.Channels.Create("team")
			if err != nil {
				t.Fatal(err)
			}
			invite(t, a, b, ch)
			invite(t, a, c, ch)
			for _, n := range []*nettest.Node{a, b, c} {
				nettest.WaitFor(t, n.Name+" sees 3 members", func() bool {
					ms, err := n.Channels.Members(ch)
					return err == nil && len(ms) == 3
				})
			}
			if tc.away {
				for _, x := range [][2]*nettest.Node{{a, c}, {c, a}} {
					if err := x[0].Net.Remove(x[1].ID.NodeID); err != nil {
						t.Fatal(err)
					}
				}
				nettest.WaitFor(t, "alice and carol apart", func() bool {
					return a.Net.Session(c.ID.NodeID) == nil && c.Net.Session(a.ID.NodeID) == nil
				})
			}
			if _, err := a.Channels.Post(ch, "before the removal"); err != nil {
				t.Fatal(err)
			}
			if err := a.Channels.Remove(ch, c.ID.NodeID); err != nil {
				t.Fatal(err)
			}
			nettest.WaitFor(t, "bob sees carol removed", func() bool {
				ms, err := b.Channels.Members(ch)
				return err == nil && len(ms) == 2
			})
			if _, err := b.Channels.Post(ch, "after the removal"); err != nil {
				t.Fatal(err)
			}
			nettest.WaitFor(t, "alice's log with bob's post", func() bool { return hasAll(texts(t, a, ch), "after the removal") })
			if tc.away {
				nettest.Connect(t, c, a)
			}

			nettest.WaitFor(t, "carol sees herself removed", func() bool {
				ms, err := c.Channels.Members(ch)
				return err == nil && len(ms) == 2 && !slices.ContainsFunc(ms, func(m channels.Member) bool { return m.NodeID == c.ID.NodeID })
			})
			st, err := c.Channels.StateOf(ch)
			if err != nil || !strings.Contains(st.Removed, a.ID.NodeID) {
				t.Fatalf("carol's state: removed %q, err %v; want it to name alice", st.Removed, err)
			}
			_, err = c.Channels.Post(ch, "still here?")
			if !errors.Is(err, channels.ErrRemoved) || !errors.Is(err, channels.ErrNotMember) ||
				!strings.Contains(err.Error(), "you were removed from channel \"team\"") || !strings.Contains(err.Error(), "alice") {
				t.Fatalf("carol posts after her removal: want ErrRemoved naming alice, got %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
			defer cancel()
			if _, err := c.Channels.Sync(ctx, ch); err != nil {
				t.Fatal(err)
			}
			got := texts(t, c, ch)
			if !slices.Contains(got, "before the removal") || slices.Contains(got, "after the removal") {
				t.Fatalf("carol's log %q: want the post before her removal and not the one after", got)
			}
		})
	}
}
