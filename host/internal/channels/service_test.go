package channels_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/host/internal/channels"
	"github.com/dpc-go/dpc/host/internal/channels/chancrypt"
	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/nettest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	nettest.Cleanup()
	os.Exit(code)
}

// trio is three connected nodes whose firewall lets contacts invite them.
func trio(t *testing.T) (a, b, c *nettest.Node) {
	t.Helper()
	rules, err := os.ReadFile("testdata/firewall_invites.hcl")
	if err != nil {
		t.Fatal(err)
	}
	node := func(name string) *nettest.Node {
		return nettest.NewNode(t, nettest.Options{Name: name, Loopback: true, Firewall: string(rules)})
	}
	a, b, c = node("alice"), node("bob"), node("carol")
	nettest.Connect(t, a, b)
	nettest.Connect(t, a, c)
	nettest.Connect(t, b, c)
	return a, b, c
}

func texts(t testing.TB, n *nettest.Node, ch chanop.ID) []string {
	t.Helper()
	posts, err := n.Channels.Log(ch, 0)
	if err != nil {
		t.Fatalf("%s: log: %v", n.Name, err)
	}
	var out []string
	for _, p := range posts {
		out = append(out, p.Text)
	}
	return out
}

func hasAll(got []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}

func invite(t testing.TB, from, to *nettest.Node, ch chanop.ID) {
	t.Helper()
	if err := from.Channels.Invite(ch, to.ID.NodeID, 0); err != nil {
		t.Fatalf("invite %s: %v", to.Name, err)
	}
	nettest.WaitFor(t, to.Name+"'s invite", func() bool {
		ins, err := to.Channels.Invites()
		return err == nil && len(ins) == 1 && ins[0].Channel == ch.String()
	})
	ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
	defer cancel()
	if err := to.Channels.Accept(ctx, ch); err != nil {
		t.Fatalf("%s accepts: %v", to.Name, err)
	}
}

func hash(t testing.TB, n *nettest.Node, ch chanop.ID) string {
	t.Helper()
	st, err := n.Channels.StateOf(ch)
	if err != nil {
		t.Fatal(err)
	}
	return st.Hash
}

// TestThreeMembersPostAndRemovedMemberCannotRead: A creates a channel and
// invites B and C, who accept; each posts and every node's log shows all
// three posts with the same state hash. A removes C: the new epoch's key
// goes to A and B only, so B's next post reaches A, never C, and none of
// the keys in C's store opens it. Before, there was no channel service.
func TestThreeMembersPostAndRemovedMemberCannotRead(t *testing.T) {
	t.Parallel()
	a, b, c := trio(t)
	ch, err := a.Channels.Create("team")
	if err != nil {
		t.Fatal(err)
	}
	invite(t, a, b, ch)
	invite(t, a, c, ch)
	all := []*nettest.Node{a, b, c}
	for _, n := range all {
		nettest.WaitFor(t, n.Name+" sees 3 members", func() bool {
			ms, err := n.Channels.Members(ch)
			return err == nil && len(ms) == 3
		})
	}
	for _, n := range all {
		if _, err := n.Channels.Post(ch, "hello from "+n.Name); err != nil {
			t.Fatalf("%s posts: %v", n.Name, err)
		}
	}
	for _, n := range all {
		nettest.WaitFor(t, n.Name+"'s log of three posts", func() bool {
			return hasAll(texts(t, n, ch), "hello from alice", "hello from bob", "hello from carol")
		})
	}
	nettest.WaitFor(t, "equal state hashes", func() bool {
		return hash(t, a, ch) == hash(t, b, ch) && hash(t, b, ch) == hash(t, c, ch)
	})

	if err := a.Channels.Remove(ch, c.ID.NodeID); err != nil {
		t.Fatal(err)
	}
	nettest.WaitFor(t, "bob sees carol removed", func() bool {
		ms, err := b.Channels.Members(ch)
		return err == nil && len(ms) == 2
	})
	after, err := b.Channels.Post(ch, "after carol left")
	if err != nil {
		t.Fatal(err)
	}
	nettest.WaitFor(t, "alice's log with bob's post after the removal", func() bool {
		return hasAll(texts(t, a, ch), "after carol left")
	})
	nettest.WaitFor(t, "equal state hashes of alice and bob", func() bool { return hash(t, a, ch) == hash(t, b, ch) })

	ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
	defer cancel()
	_, _ = c.Channels.Sync(ctx, ch) // refused: carol is no member for alice and bob
	if got := texts(t, c, ch); slices.Contains(got, "after carol left") {
		t.Fatalf("carol's log shows a post made after her removal: %q", got)
	}
	raw, err := b.Channels.RawOp(ch, after)
	if err != nil {
		t.Fatal(err)
	}
	op, err := chanop.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := c.Channels.StoredKeys(ch)
	if err != nil || len(keys) == 0 {
		t.Fatalf("carol's stored keys: %d, %v", len(keys), err)
	}
	if _, ok := keys[op.Header.Epoch]; ok {
		t.Fatal("carol's store holds the key of the epoch started by her removal")
	}
	dg := op.Header.Digest()
	for ep, k := range keys {
		if _, err := chancrypt.Open(k, ch[:], ep[:], dg[:], op.Body.(chanop.PostBody).Sealed); err == nil {
			t.Fatalf("carol's key of epoch %s opens a post made after her removal", ep)
		}
	}
}

// TestInviteRefusedByFirewall: a node whose firewall does not allow the
// inviter "channel_invites" (the default allows contacts; this one does
// not) keeps no invite, and cannot accept one.
func TestInviteRefusedByFirewall(t *testing.T) {
	t.Parallel()
	a := nettest.NewNode(t, nettest.Options{Name: "alice", Loopback: true})
	b := nettest.NewNode(t, nettest.Options{Name: "bob", Loopback: true,
		Firewall: `rule "group" "contacts" { allow = ["messages", "files", "history"] }`})
	nettest.Connect(t, a, b)
	events, stop := b.Net.Bus().Subscribe()
	defer stop()
	ch, err := a.Channels.Create("team")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Channels.Invite(ch, b.ID.NodeID, 0); err != nil {
		t.Fatal(err)
	}
	e := nettest.NextEvent(t, events, "channel.invite")
	if in, ok := e.Data.(channels.InviteEvent); !ok || in.Refused == "" {
		t.Fatalf("want a refused channel.invite event, got %+v", e.Data)
	}
	if ins, err := b.Channels.Invites(); err != nil || len(ins) != 0 {
		t.Fatalf("invites kept: %v (err %v)", ins, err)
	}
	if err := b.Channels.Accept(context.Background(), ch); !errors.Is(err, channels.ErrNoInvite) {
		t.Fatalf("accept without an invite: want ErrNoInvite, got %v", err)
	}
}

// TestChannelWantFloodIsRateLimited: a peer sending CHANNEL_WANT faster
// than the per-peer limit gets ERROR rate_limited instead of answers.
// Before, every want was walked and answered.
func TestChannelWantFloodIsRateLimited(t *testing.T) {
	t.Parallel()
	a := nettest.Loopback(t, "alice", nil)
	s, _ := nettest.RawSession(t, a)
	want := dptp.ChannelWant{ChannelID: strings.Repeat("ab", 32), IDs: []string{strings.Repeat("cd", 32)}}
	// The default burst is 100: more wants than that, sent at once, must
	// meet the limit however slowly the machine answers.
	for i := range 400 {
		want.RequestID = "w" + strconv.Itoa(i)
		if err := s.Send(dptp.CmdChannelWant, want); err != nil {
			t.Fatal(err)
		}
	}
	for {
		e, err := dptp.Decode[dptp.ErrorReply](nettest.Next(t, s, dptp.CmdError))
		if err != nil {
			t.Fatal(err)
		}
		if e.Code == dptp.CodeRateLimited {
			return
		}
		if e.Code != dptp.CodeNotFound {
			t.Fatalf("want not_found (unknown channel) or rate_limited, got %+v", e)
		}
	}
}

// TestPostIsAChannelOpEventOnMembers: a post by one member reaches the
// other's event stream as channel.op with its channel, id, type and author.
func TestPostIsAChannelOpEventOnMembers(t *testing.T) {
	t.Parallel()
	a, b, _ := trio(t)
	ch, err := a.Channels.Create("team")
	if err != nil {
		t.Fatal(err)
	}
	invite(t, a, b, ch)
	nettest.WaitFor(t, "bob sees two members", func() bool {
		ms, err := b.Channels.Members(ch)
		return err == nil && len(ms) == 2
	})
	events, stop := b.Net.Bus().Subscribe()
	defer stop()
	id, err := a.Channels.Post(ch, "hi")
	if err != nil {
		t.Fatal(err)
	}
	for {
		e := nettest.NextEvent(t, events, "channel.op")
		op, ok := e.Data.(channels.OpEvent)
		if !ok {
			t.Fatalf("channel.op data: %T", e.Data)
		}
		if op.Op == id.String() {
			if op.Channel != ch.String() || op.Type != "post" || op.Author != a.ID.NodeID {
				t.Fatalf("channel.op event: %+v", op)
			}
			return
		}
	}
}

// TestGrantAndCloseBindEveryMember: a grant taking write away from B is
// applied on B's node too (B's post is refused there, before it is sent),
// and after A closes the channel nobody posts. Both are refused with the
// service's errors, not stored as ops the rules refuse.
func TestGrantAndCloseBindEveryMember(t *testing.T) {
	t.Parallel()
	a, b, _ := trio(t)
	ch, err := a.Channels.Create("team")
	if err != nil {
		t.Fatal(err)
	}
	invite(t, a, b, ch)
	if err := a.Channels.Grant(ch, b.ID.NodeID, chanop.PermRead); err != nil {
		t.Fatal(err)
	}
	nettest.WaitFor(t, "bob sees his permissions reduced to read", func() bool {
		ms, err := b.Channels.Members(ch)
		return err == nil && slices.ContainsFunc(ms, func(m channels.Member) bool { return m.NodeID == b.ID.NodeID && m.Perms == "read" })
	})
	// In order: the close must come after bob's case.
	for _, tc := range []struct {
		name    string
		node    *nettest.Node
		close   bool
		wantErr error
	}{
		{name: "bob without write", node: b, wantErr: channels.ErrNoPermission},
		{name: "alice after she closed it", node: a, close: true, wantErr: channels.ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.close {
				if err := a.Channels.Close(ch); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := tc.node.Channels.Post(ch, "hi"); !errors.Is(err, tc.wantErr) {
				t.Fatalf("post: want %v, got %v", tc.wantErr, err)
			}
		})
	}
}
