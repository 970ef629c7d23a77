package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lastLine is the last non-empty line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// TestChannelCLIContract is issue 15's CLI contract on three `dpc run`
// nodes: create prints the channel id last; B and C accept invites; each
// posts; within 10 s every node's log shows the three posts and `channel
// state` ends with the same hash; after A removes C, B's next post never
// appears in C's log; a restarted node keeps its channel. Before, there was
// no dpc channel.
func TestChannelCLIContract(t *testing.T) {
	t.Parallel()
	rules, err := os.ReadFile("testdata/firewall_channel_invites.hcl")
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := newPeer(t, "alice"), newPeer(t, "bob"), newPeer(t, "carol")
	for _, p := range []*peer{a, b, c} {
		if err := os.WriteFile(filepath.Join(p.home, "firewall.hcl"), rules, 0o600); err != nil {
			t.Fatal(err)
		}
		p.run()
	}
	contacts(t, a, b)
	contacts(t, a, c)
	contacts(t, b, c)

	ch := lastLine(a.must("channel", "create", "team"))
	for _, p := range []*peer{b, c} {
		a.must("channel", "invite", ch, p.id)
		waitFor(t, time.Minute, p.name+"'s invite", func() bool {
			return strings.Contains(p.must("channel", "invites"), ch)
		})
		p.must("channel", "accept", ch)
	}
	all := []*peer{a, b, c}
	for _, p := range all {
		waitFor(t, time.Minute, p.name+" sees three members", func() bool {
			return strings.Count(p.must("channel", "members", ch), "dpc-node-") == 3
		})
	}
	for _, p := range all {
		p.must("channel", "post", ch, "hello from "+p.name)
	}
	for _, p := range all {
		waitFor(t, 10*time.Second, p.name+"'s log of the three posts", func() bool {
			return containsAll(p.must("channel", "log", ch), "hello from alice", "hello from bob", "hello from carol")
		})
	}
	waitFor(t, 10*time.Second, "the same state hash on the three nodes", func() bool {
		h := lastLine(a.must("channel", "state", ch))
		return lastLine(b.must("channel", "state", ch)) == h && lastLine(c.must("channel", "state", ch)) == h
	})

	a.must("channel", "remove", ch, c.id)
	waitFor(t, time.Minute, "bob sees carol removed", func() bool {
		return !strings.Contains(b.must("channel", "members", ch), c.id)
	})
	b.must("channel", "post", ch, "after carol left")
	waitFor(t, time.Minute, "alice's log with bob's post", func() bool {
		return strings.Contains(a.must("channel", "log", ch), "after carol left")
	})
	c.must("channel", "sync", ch) // alice and bob refuse carol now
	if out := c.must("channel", "log", ch); strings.Contains(out, "after carol left") {
		t.Fatalf("carol's log shows a post made after her removal:\n%s", out)
	}

	// A restart rebuilds the log from the store: same posts, same state.
	waitFor(t, time.Minute, "alice and bob agree", func() bool {
		return lastLine(a.must("channel", "state", ch)) == lastLine(b.must("channel", "state", ch))
	})
	before := lastLine(a.must("channel", "state", ch))
	a.stop()
	a.run()
	if got := lastLine(a.must("channel", "state", ch)); got != before {
		t.Errorf("state hash after a restart: %s, before %s", got, before)
	}
	if out := a.must("channel", "log", ch); !containsAll(out, "hello from alice", "hello from bob", "hello from carol", "after carol left") {
		t.Errorf("alice's log after a restart:\n%s", out)
	}
	a.must("channel", "post", ch, "alice is back")
	waitFor(t, time.Minute, "bob's log with alice's post after her restart", func() bool {
		return strings.Contains(b.must("channel", "log", ch), "alice is back")
	})
}

// TestChannelInviteWhileOffline: A invites B while B's node is stopped (B's
// envelope key comes from its peer record, kept from their last session);
// when B runs again A pushes the add once more, B sees the invite, accepts
// and reads A's post. Before, an invitee offline at invite time never
// learned of it.
func TestChannelInviteWhileOffline(t *testing.T) {
	t.Parallel()
	rules, err := os.ReadFile("testdata/firewall_channel_invites.hcl")
	if err != nil {
		t.Fatal(err)
	}
	a, b := newPeer(t, "alice"), newPeer(t, "bob")
	for _, p := range []*peer{a, b} {
		if err := os.WriteFile(filepath.Join(p.home, "firewall.hcl"), rules, 0o600); err != nil {
			t.Fatal(err)
		}
		p.run()
	}
	contacts(t, a, b)
	b.stop()
	a.waitPeerState(b, time.Minute, "offline")
	ch := lastLine(a.must("channel", "create", "team"))
	a.must("channel", "invite", ch, b.id)
	a.must("channel", "post", ch, "posted before bob came back")
	b.run()
	waitFor(t, time.Minute, "bob's invite", func() bool {
		return strings.Contains(b.must("channel", "invites"), ch)
	})
	b.must("channel", "accept", ch)
	waitFor(t, time.Minute, "bob's log with alice's post", func() bool {
		return strings.Contains(b.must("channel", "log", ch), "posted before bob came back")
	})
}
