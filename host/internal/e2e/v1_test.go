package e2e

// A real `dpc run` with an RSA identity and a D-PC v1 peer: the reference
// peer of package dpcv1ref (written from reference/dpc-legacy-wire.md, for
// tests only) stands in for a Python D-PC Messenger node.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/dpcv1ref"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

func TestDPCv1PeerThroughTheCLI(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	out := n.must("init", "--key", "rsa", "--name", "Gopher")
	n.name, n.nodeAttrs = "Gopher", "dpc_v1 = true"
	p := &peer{node: n, id: nodeIDRE.FindString(out), port: sdktest.ReservePort(t)}
	n.writeConfig("plugin \"transport\" \"transport-direct\" {}\n")
	n.must("plugin", "lock")
	p.run()

	ref, err := dpcv1ref.Listen("127.0.0.1:0", dpcv1ref.Options{Name: "Pythonista", StrictSalt: true, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ref.Close() })

	// Without --v1, a peer that declines dptp/1 is not dialed with v1's
	// handshake: nothing of ours gets signed for it.
	if out := p.must("connect", ref.URI()); !strings.Contains(out, "not marked as D-PC v1") || !strings.Contains(out, "--v1") {
		t.Fatalf("connect without --v1 to a D-PC v1 peer: want it refused with a hint, got %s", out)
	}
	if rej := ref.Rejected(); len(ref.Conns()) != 0 {
		t.Fatalf("want no v1 session without --v1, got %d (rejected %v)", len(ref.Conns()), rej)
	}
	// dpc connect --v1 to the v1 peer; it is marked as such in dpc peers.
	if out := p.must("connect", "--v1", ref.URI()); !strings.Contains(out, "Connected to "+ref.NodeID()) {
		t.Fatalf("connect to a D-PC v1 peer: %s", out)
	}
	peersOut := p.must("peers")
	if !strings.Contains(peersOut, "D-PC v1 (weaker auth*)") || !strings.Contains(peersOut, "not bound to the TLS") {
		t.Errorf("dpc peers: want the v1 peer marked with its weaker authentication, got\n%s", peersOut)
	}

	// Text both ways.
	p.must("send", ref.NodeID(), "hello python")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f, err := ref.WaitFor(ctx, "SEND_TEXT")
	if err != nil || f.Payload["text"] != "hello python" {
		t.Fatalf("the v1 peer did not get the text: %v %s", err, f.Raw)
	}
	conn, err := ref.WaitConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Send("SEND_TEXT", map[string]any{"text": "hello go"}); err != nil {
		t.Fatal(err)
	}
	lines := p.waitHistory(&peer{id: ref.NodeID()}, 60*time.Second, "the v1 peer's text",
		func(l []string) bool { return countContaining(l, "< hello go") == 1 })
	if countContaining(lines, "> hello python") != 1 {
		t.Errorf("history: want our message once, got\n%s", strings.Join(lines, "\n"))
	}
}
