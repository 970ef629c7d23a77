package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestChannelPostReachesOfflineMemberThroughHubMailbox: alice and bob share
// a channel and are logged in to one dpc-hub. Bob's node is stopped; alice
// posts, the hub stores the envelope sealed to bob, and alice stops too.
// When bob runs again, his node resumes its hub login, fetches the
// envelope and shows her post: with alice offline, nothing but the hub's
// mailbox could have brought it. Before, the post waited for a session
// between the two.
func TestChannelPostReachesOfflineMemberThroughHubMailbox(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	a, b := newPeerWith(t, "alice", hubPlugin(h.url())), newPeerWith(t, "bob", hubPlugin(h.url()))
	a.run()
	b.run()
	a.must("hub", "login")
	b.must("hub", "login")
	contacts(t, a, b)

	ch := lastLine(a.must("channel", "create", "team"))
	a.must("channel", "invite", ch, b.id)
	waitFor(t, time.Minute, "bob's invite", func() bool { return strings.Contains(b.must("channel", "invites"), ch) })
	b.must("channel", "accept", ch)
	waitFor(t, time.Minute, "bob sees both members", func() bool {
		return strings.Count(b.must("channel", "members", ch), "dpc-node-") == 2
	})

	b.stop()
	a.waitPeerState(b, time.Minute, "offline")
	a.must("channel", "post", ch, "left at the hub")
	waitFor(t, time.Minute, "the hub storing an envelope", func() bool {
		out, err := exec.Command("curl", "-sf", h.url()+"/metrics").Output()
		return err == nil && strings.Contains(string(out), "dpc_hub_mailbox_puts_total 1")
	})
	a.stop()

	b.run()
	b.waitHubStatus("online")
	waitFor(t, 2*time.Minute, "alice's post in bob's log", func() bool {
		return strings.Contains(b.must("channel", "log", ch), "left at the hub")
	})
}
