package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/store"
)

// connectedTo tells whether p's `dpc peers` lists other as connected.
func (p *peer) connectedTo(other *peer) bool {
	p.t.Helper()
	var got struct {
		Peers []struct {
			NodeID string `json:"node_id"`
			State  string `json:"state"`
		} `json:"peers"`
	}
	decodeJSON(p.t, "dpc peers --json", p.must("peers", "--json"), &got)
	for _, q := range got.Peers {
		if q.NodeID == other.id && q.State == "connected" {
			return true
		}
	}
	return false
}

// waitConverged waits until every node's `channel log` shows posts and
// `channel state` ends with the same hash line on all of them; on a
// timeout it shows every node's state and the end of its log.
func waitConverged(t *testing.T, timeout time.Duration, what, ch string, nodes []*peer, posts ...string) {
	t.Helper()
	converged := func() bool {
		h := ""
		for i, p := range nodes {
			if !containsAll(p.must("channel", "log", ch), posts...) {
				return false
			}
			s := lastLine(p.must("channel", "state", ch))
			if i > 0 && s != h {
				return false
			}
			h = s
		}
		return true
	}
	deadline := time.Now().Add(timeout)
	for !converged() {
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, p := range nodes {
				log := p.d.stderr.String()
				fmt.Fprintf(&b, "== %s state:\n%s\nend of its log:\n%s\n", p.name, p.must("channel", "state", ch), log[max(0, len(log)-3000):])
			}
			t.Fatalf("timed out after %s waiting for %s: every log with %q and equal state hashes\n%s", timeout, what, posts, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestChannelFiveNodesOfflinePartitionRemoval is issue 15's end to end on
// five `dpc run` nodes in one channel:
//   - offline catch-up: E's node is stopped while A..D post; restarted, E's
//     log shows every post and its state hash equals the others';
//   - a healed partition: {A,B,C} and {D,E} forget each other (dpc peers
//     remove on both sides, so nobody dials across), each group posts and
//     sees only its own posts; `dpc connect` across heals it and all five
//     converge;
//   - a removal with key rotation: after A removes E, E's members list no
//     longer shows E, its state names alice and its posts are refused; B's
//     post never shows in E's log, and E's own store (opened after E
//     stopped) holds no copy of it.
func TestChannelFiveNodesOfflinePartitionRemoval(t *testing.T) {
	t.Parallel()
	rules, err := os.ReadFile("testdata/firewall_channel_invites.hcl")
	if err != nil {
		t.Fatal(err)
	}
	var all []*peer
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin"} {
		p := newPeer(t, name)
		if err := os.WriteFile(filepath.Join(p.home, "firewall.hcl"), rules, 0o600); err != nil {
			t.Fatal(err)
		}
		p.run()
		all = append(all, p)
	}
	a, b, e := all[0], all[1], all[4]
	for i, p := range all {
		for _, q := range all[i+1:] {
			contacts(t, p, q)
		}
	}
	ch := lastLine(a.must("channel", "create", "five"))
	for _, p := range all[1:] {
		a.must("channel", "invite", ch, p.id)
		waitFor(t, time.Minute, p.name+"'s invite", func() bool {
			return strings.Contains(p.must("channel", "invites"), ch)
		})
		p.must("channel", "accept", ch)
	}
	for _, p := range all {
		waitFor(t, time.Minute, p.name+" sees five members", func() bool {
			return strings.Count(p.must("channel", "members", ch), "dpc-node-") == 5
		})
	}

	t.Run("offline member catches up", func(t *testing.T) {
		e.stop()
		var posts []string
		for _, p := range all[:4] {
			text := p.name + " while erin was away"
			p.must("channel", "post", ch, text)
			posts = append(posts, text)
		}
		e.run()
		waitConverged(t, time.Minute, "after erin's restart", ch, all, posts...)
	})

	t.Run("partition healed", func(t *testing.T) {
		west, east := all[:3], all[3:]
		for _, x := range west {
			for _, y := range east {
				x.must("peers", "remove", y.id)
				y.must("peers", "remove", x.id)
			}
		}
		// A side may have redialed before the other forgot it: wait until
		// no session crosses the partition.
		for _, x := range west {
			for _, y := range east {
				waitFor(t, time.Minute, x.name+" and "+y.name+" apart", func() bool {
					return !x.connectedTo(y) && !y.connectedTo(x)
				})
			}
		}
		var westPosts, eastPosts []string
		for _, group := range []struct {
			nodes []*peer
			posts *[]string
		}{{west, &westPosts}, {east, &eastPosts}} {
			for _, p := range group.nodes {
				text := p.name + " in the partition"
				p.must("channel", "post", ch, text)
				*group.posts = append(*group.posts, text)
			}
			waitConverged(t, time.Minute, "within its side of the partition", ch, group.nodes, *group.posts...)
		}
		for _, y := range east {
			if out := y.must("channel", "log", ch); strings.Contains(out, westPosts[0]) {
				t.Fatalf("%s's log shows a post from across the partition:\n%s", y.name, out)
			}
		}
		for _, x := range west {
			for _, y := range east {
				contacts(t, x, y)
			}
		}
		waitConverged(t, time.Minute, "after the partition healed", ch, all, append(westPosts, eastPosts...)...)
	})

	t.Run("removed member cannot read later posts", func(t *testing.T) {
		a.must("channel", "remove", ch, e.id)
		for _, p := range all[:4] {
			waitFor(t, time.Minute, p.name+" sees erin removed", func() bool {
				return !strings.Contains(p.must("channel", "members", ch), e.id)
			})
		}
		after := lastLine(b.must("channel", "post", ch, "after erin left"))
		waitConverged(t, time.Minute, "after erin's removal", ch, all[:4], "after erin left")
		// Erin learns her removal (alice pushes it to her), and nothing after.
		waitFor(t, time.Minute, "erin sees herself removed", func() bool {
			return !strings.Contains(e.must("channel", "members", ch), e.id)
		})
		if out := e.must("channel", "state", ch); !strings.Contains(out, "removed: by alice") {
			t.Fatalf("erin's channel state does not say alice removed her:\n%s", out)
		}
		if out, errs, code := e.dpc("channel", "post", ch, "am I still in?"); code == 0 || !strings.Contains(errs, "you were removed from channel \"five\"") {
			t.Fatalf("erin posts after her removal: exit %d, want a refusal naming her removal\nstdout: %s\nstderr: %s", code, out, errs)
		}
		e.must("channel", "sync", ch) // the others serve erin up to her removal only
		if out := e.must("channel", "log", ch); strings.Contains(out, "after erin left") {
			t.Fatalf("erin's log shows a post made after her removal:\n%s", out)
		}
		// Erin's own store (opened once her node stopped) holds no copy of
		// the post: nothing there to open it with any key she kept.
		e.stop()
		st, err := store.Open(store.Options{Dir: home.Dir(e.home).DB()})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		held := 0
		if err := st.Iterate([]byte("chanop/"+ch+"/"), func(key, _ []byte) error {
			held++
			if bytes.HasSuffix(key, []byte("/"+after)) {
				t.Errorf("erin's store holds the post made after her removal (%s)", key)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if held == 0 {
			t.Fatal("erin's store holds no op of the channel; want the ones from before her removal")
		}
	})
}
