package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/plugins"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// newRTCPeer is a node whose only transport is transport-webrtc (its
// config block holds rtcConfig), with the hub plugin for the hub at hubURL.
func newRTCPeer(t *testing.T, name, hubURL, rtcConfig string) *peer {
	t.Helper()
	n := newNode(t)
	out := n.must("init", "--name", name)
	n.name = name
	p := &peer{node: n, id: nodeIDRE.FindString(out)}
	block := "plugin \"transport\" \"transport-webrtc\" {}\n"
	if rtcConfig != "" {
		block = fmt.Sprintf("plugin \"transport\" \"transport-webrtc\" {\n  config {\n    %s\n  }\n}\n", rtcConfig)
	}
	n.writeConfig(block + hubPlugin(hubURL))
	n.must("plugin", "lock")
	return p
}

// runOnHub starts `dpc run`, waits for the WebRTC transport, and logs in
// to the hub (the login is cached: a restarted node resumes it).
func (p *peer) runOnHub(login bool) {
	p.t.Helper()
	p.d = p.start()
	p.waitStatus(p.d, "transport/transport-webrtc", time.Minute, "transport running", func(s plugins.Status) bool {
		return s.State == "running"
	})
	if login {
		p.must("hub", "login")
	}
	p.waitHubStatus("online")
}

// peerPath is the PATH column of other's row in `dpc peers`.
func (p *peer) peerPath(other *peer) string {
	p.t.Helper()
	out := p.must("peers")
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, other.id) {
			f := strings.Fields(l)
			for i, x := range f {
				if x == "connected" && i+1 < len(f) {
					return f[i+1]
				}
			}
		}
	}
	return ""
}

// waitPath waits until p's session with other travels over want.
func (p *peer) waitPath(other *peer, want string) {
	p.t.Helper()
	waitFor(p.t, 2*time.Minute, p.name+"'s session with "+other.name+" over "+want, func() bool {
		return p.peerPath(other) == want
	})
}

// TestWebRTCByNodeIDCLIContract is the CLI contract: two nodes
// with only the WebRTC transport and a hub; A connects to B by node_id,
// sends, and the text is in B's history; A's peers shows webrtc for B.
// Then messages go both ways and a 20 MB file arrives verified.
func TestWebRTCByNodeIDCLIContract(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	a, b := newRTCPeer(t, "alice", h.url(), ""), newRTCPeer(t, "bob", h.url(), "")
	a.runOnHub(true)
	b.runOnHub(true)

	out := a.must("connect", b.id)
	if !strings.Contains(out, "Connected to "+b.id) {
		t.Fatalf("connect by node_id: want connected, got:\n%s\nlog:\n%s", out, a.d.stderr)
	}
	a.must("send", b.id, "hello over webrtc")
	b.waitHistory(a, time.Minute, "alice's text in bob's history", func(l []string) bool {
		return countContaining(l, "hello over webrtc") == 1
	})
	if got := a.peerPath(b); got != "webrtc" {
		t.Errorf("alice's peers: path for bob = %q, want webrtc:\n%s", got, a.must("peers"))
	}

	b.must("peers", "accept", a.id)
	b.must("send", a.id, "hello back")
	a.waitHistory(b, time.Minute, "bob's answer at alice", func(l []string) bool {
		return countContaining(l, "< hello back") == 1
	})
	sendVerifiedFile(t, a, b, 20<<20)
}

// turnArgs runs the hub's TURN server on a loopback UDP port.
func turnArgs(t *testing.T) []string {
	return []string{"--turn", "--turn-listen", fmt.Sprintf("127.0.0.1:%d", sdktest.ReservePort(t))}
}

// TestWebRTCRelayOnlyThroughHubTURN: with ICE forced to relays, the
// session goes through the hub's TURN server, and still carries messages
// and a 20 MB file.
func TestWebRTCRelayOnlyThroughHubTURN(t *testing.T) {
	t.Parallel()
	h := newHub(t, turnArgs(t)...)
	a, b := newRTCPeer(t, "alice", h.url(), "relay_only = true"), newRTCPeer(t, "bob", h.url(), "relay_only = true")
	a.runOnHub(true)
	b.runOnHub(true)
	if out := a.must("connect", b.id); !strings.Contains(out, "Connected to "+b.id) {
		t.Fatalf("connect by node_id, relay only: want connected, got:\n%s\nlog:\n%s", out, a.d.stderr)
	}
	if got := a.peerPath(b); got != "webrtc-relay" {
		t.Errorf("path for bob = %q, want webrtc-relay:\n%s", got, a.must("peers"))
	}
	b.must("connect", a.id)
	a.must("send", b.id, "through the relay")
	b.waitHistory(a, time.Minute, "a message through the relay", func(l []string) bool {
		return countContaining(l, "< through the relay") == 1
	})
	sendVerifiedFile(t, a, b, 20<<20)
}

// TestWebRTCLyingHubIsRefused: a hub that swaps in a third node's answer
// and candidates gets the session refused, with a reason naming the
// node_id mismatch, and nothing meant for bob reaches carol.
func TestWebRTCLyingHubIsRefused(t *testing.T) {
	t.Parallel()
	port := sdktest.ReservePort(t)
	real := fmt.Sprintf("http://127.0.0.1:%d", port)
	liar := newLyingHub(t, real)
	a, b, c := newRTCPeer(t, "alice", liar.url(), ""), newRTCPeer(t, "bob", liar.url(), ""), newRTCPeer(t, "carol", liar.url(), "")
	// Set before any node talks to the proxy.
	liar.victim, liar.into = b.id, c.id
	h := &hubProc{t: t, port: port, data: filepath.Join(t.TempDir(), "hub"), args: []string{"--public-url", liar.url()}}
	h.start()
	for _, p := range []*peer{a, b, c} {
		p.runOnHub(true)
	}

	out, errs, code := a.dpc("connect", b.id)
	if code == 0 {
		t.Fatalf("connect to bob through a lying hub: want a refusal, got exit 0:\n%s", out)
	}
	if !strings.Contains(errs, b.id) || !strings.Contains(errs, c.id) || !strings.Contains(errs, "not the node") {
		t.Errorf("the refusal does not name the node_id mismatch (want %s and %s):\n%s", b.id, c.id, errs)
	}
	if liar.swapped.Load() == 0 {
		t.Fatalf("the lying hub never redirected a signal: the test proves nothing")
	}

	// Bob as a contact, reached while the hub tells the truth; then the
	// hub lies again while bob is away and a message waits for him.
	liar.lying.Store(false)
	if out := a.must("connect", b.id); !strings.Contains(out, "Connected to "+b.id) {
		t.Fatalf("connect to bob through an honest hub: want connected, got:\n%s", out)
	}
	b.stop()
	a.waitPeerState(b, 2*time.Minute, "offline")
	before := liar.swapped.Load()
	liar.lying.Store(true)
	a.must("send", b.id, "for bob only")
	waitFor(t, 3*time.Minute, "alice to redial bob through the lying hub and refuse carol", func() bool {
		out := a.must("peers")
		return liar.swapped.Load() > before && strings.Contains(out, "the peer's key is "+c.id)
	})
	if out, _, _ := c.dpc("history", a.id); strings.Contains(out, "for bob only") {
		t.Errorf("carol received a message meant for bob:\n%s", out)
	}
	// The truth again: the message reaches bob, once.
	liar.lying.Store(false)
	b.runOnHub(false)
	b.waitHistory(a, 3*time.Minute, "the message at bob once the hub tells the truth", func(l []string) bool {
		return countContaining(l, "for bob only") == 1
	})
}

// TestWebRTCRelayLossReconnectsAndDrains: the relay (the hub with its
// TURN server) dies under a relay-only session; messages sent meanwhile
// wait, and once the hub is back the nodes reconnect by themselves and the
// outbox drains: every message arrives once, in order.
func TestWebRTCRelayLossReconnectsAndDrains(t *testing.T) {
	t.Parallel()
	h := newHub(t, turnArgs(t)...)
	a, b := newRTCPeer(t, "alice", h.url(), "relay_only = true"), newRTCPeer(t, "bob", h.url(), "relay_only = true")
	a.runOnHub(true)
	b.runOnHub(true)
	if out := a.must("connect", b.id); !strings.Contains(out, "Connected to "+b.id) {
		t.Fatalf("connect: want connected, got:\n%s\nlog:\n%s", out, a.d.stderr)
	}
	b.must("connect", a.id)
	a.must("send", b.id, "before the loss")
	b.waitHistory(a, time.Minute, "the first message", func(l []string) bool {
		return countContaining(l, "< before the loss") == 1
	})

	h.kill()
	const n = 20
	for i := 1; i <= n; i++ {
		a.must("send", b.id, fmt.Sprintf("during %02d", i))
	}
	a.waitPeerState(b, 3*time.Minute, "offline")
	h.start()
	a.waitPath(b, "webrtc-relay")
	lines := b.waitHistory(a, 3*time.Minute, "every message at bob", func(l []string) bool {
		return countContaining(l, "< during ") >= n
	})
	if got := countContaining(lines, "< during "); got != n {
		t.Fatalf("bob holds %d messages sent during the loss, want each of the %d once:\n%s", got, n, strings.Join(lines, "\n"))
	}
	i := 0
	for _, l := range lines {
		if strings.Contains(l, "< during ") {
			i++
			if want := fmt.Sprintf("< during %02d", i); !strings.HasSuffix(l, want) {
				t.Fatalf("message %d: want %q (in order), got %q", i, want, l)
			}
		}
	}
	a.waitHistory(b, time.Minute, "alice's outbox drained", func(l []string) bool {
		return countContaining(l, "[queued]") == 0 && countContaining(l, "[delivered]") == n+1
	})
}

// sendVerifiedFile sends a file of size bytes from a to b with dpc
// send-file, which must report b's sha256 check, and compares what b stored.
func sendVerifiedFile(t *testing.T, a, b *peer, size int) {
	t.Helper()
	src := writeRandomFile(t, size)
	if out := a.must("send-file", b.id, src); !strings.Contains(out, "delivered payload.bin: the peer verified sha256") {
		t.Fatalf("send-file: want a verified delivery, got:\n%s", out)
	}
	if got := filepath.Join(b.home, "files", a.id, "payload.bin"); !sameFile(t, src, got) {
		t.Errorf("the file %s received differs from the one sent (%s)", b.name, got)
	}
}
