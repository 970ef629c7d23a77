package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/plugins"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// peer is a node that talks to others over transport-direct on loopback.
type peer struct {
	*node
	id   string
	port int
	// api is the local API's address when the test picks it (run passes
	// --api); empty takes the configured one.
	api string
	d   *daemon
}

func newPeer(t *testing.T, name string) *peer {
	t.Helper()
	return newPeerWith(t, name, "")
}

// newPeerWith is newPeer with more plugin blocks in dpc.hcl (after
// transport-direct) and name as the node's display name.
func newPeerWith(t *testing.T, name, morePlugins string) *peer {
	t.Helper()
	n := newNode(t)
	out := n.must("init", "--name", name)
	n.name = name
	p := &peer{node: n, id: nodeIDRE.FindString(out), port: sdktest.ReservePort(t)}
	n.writeConfig("plugin \"transport\" \"transport-direct\" {}\n" + morePlugins)
	n.must("plugin", "lock")
	return p
}

func (p *peer) uri() string { return fmt.Sprintf("dpc://127.0.0.1:%d?node_id=%s", p.port, p.id) }

// run starts `dpc run` and waits until it accepts connections: a peer
// dialing it before would be refused by the kernel, not by the node.
func (p *peer) run() {
	p.t.Helper()
	args := []string{"--listen", fmt.Sprintf("127.0.0.1:%d", p.port)}
	if p.api != "" {
		args = append(args, "--api", p.api)
	}
	p.d = p.start(args...)
	p.waitStatus(p.d, "transport/transport-direct", 60*time.Second, "transport running", func(s plugins.Status) bool {
		return s.State == "running"
	})
	waitLog(p.t, p.d, time.Minute, "dpc.network: listening:", fmt.Sprintf("addresses=127.0.0.1:%d", p.port))
}

// stop ends `dpc run` with SIGTERM and waits for it.
func (p *peer) stop() {
	p.t.Helper()
	_ = p.d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.d.done:
		p.d.done <- err
	case <-time.After(time.Minute):
		p.t.Fatalf("dpc run did not stop within a minute of SIGTERM")
	}
}

// waitHistory polls `dpc history` until ok accepts its lines.
func (p *peer) waitHistory(with *peer, timeout time.Duration, what string, ok func([]string) bool) []string {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	var lines []string
	for time.Now().Before(deadline) {
		out, _, code := p.dpc("history", with.id)
		if code == 0 {
			lines = nil
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if l != "" {
					lines = append(lines, l)
				}
			}
			if ok(lines) {
				return lines
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("timed out waiting for %s; history:\n%s\nlog:\n%s", what, strings.Join(lines, "\n"), p.d.stderr)
	return nil
}

// contacts makes a and b contacts of each other and waits until connected.
func contacts(t *testing.T, a, b *peer) {
	t.Helper()
	if out := a.must("connect", b.uri()); !strings.Contains(out, "Connected to "+b.id) {
		t.Fatalf("connect: want connected, got %s", out)
	}
	b.must("connect", a.uri())
}

func countContaining(lines []string, sub string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

func TestMessagesBothWays(t *testing.T) {
	t.Parallel()
	a, b := newPeer(t, "alice"), newPeer(t, "bob")
	a.run()
	b.run()
	contacts(t, a, b)
	a.must("send", b.id, "hello bob")
	b.must("send", a.id, "hello alice")
	b.waitHistory(a, 60*time.Second, "alice's message at bob", func(l []string) bool {
		return countContaining(l, "< hello bob") == 1 && countContaining(l, "> hello alice") == 1
	})
	a.waitHistory(b, 60*time.Second, "both messages delivered at alice", func(l []string) bool {
		return countContaining(l, "< hello alice") == 1 && countContaining(l, "> hello bob [delivered]") == 1 && len(l) == 2
	})
}

func TestStrangerIsAContactRequest(t *testing.T) {
	t.Parallel()
	a, b := newPeer(t, "alice"), newPeer(t, "bob")
	a.run()
	b.run()
	a.must("connect", b.uri())
	a.must("send", b.id, "may I?")
	b.waitHistory(a, 60*time.Second, "a held request", func(l []string) bool {
		return countContaining(l, "may I? [contact request") == 1
	})
	if out := b.must("peers"); !strings.Contains(out, a.id) || !strings.Contains(out, "REQUEST") {
		t.Errorf("peers: want alice as a request, got:\n%s", out)
	}
	a.waitHistory(b, 60*time.Second, "held at the peer", func(l []string) bool {
		return countContaining(l, "[held by peer") == 1
	})
	b.must("peers", "accept", a.id)
	b.waitHistory(a, 60*time.Second, "released message", func(l []string) bool {
		return len(l) == 1 && strings.HasSuffix(l[0], "< may I?")
	})
	a.waitHistory(b, 60*time.Second, "delivered after acceptance", func(l []string) bool {
		return len(l) == 1 && strings.HasSuffix(l[0], "> may I? [delivered]")
	})
}

func TestOfflineDeliveryInOrder(t *testing.T) {
	t.Parallel()
	a, b := newPeer(t, "alice"), newPeer(t, "bob")
	a.run()
	b.run()
	contacts(t, a, b)
	b.stop()
	const n = 100
	for i := 1; i <= n; i++ {
		a.must("send", b.id, fmt.Sprintf("msg %03d", i))
	}
	b.run()
	lines := b.waitHistory(a, 60*time.Second, "all 100 messages at bob", func(l []string) bool {
		return countContaining(l, "< msg ") >= n
	})
	if len(lines) != n {
		t.Fatalf("want exactly %d messages (each once), got %d", n, len(lines))
	}
	for i, l := range lines {
		if want := fmt.Sprintf("< msg %03d", i+1); !strings.HasSuffix(l, want) {
			t.Fatalf("line %d: want %q (in order), got %q", i+1, want, l)
		}
	}
	a.waitHistory(b, 60*time.Second, "alice's outbox drained", func(l []string) bool {
		return len(l) == n && countContaining(l, "[queued]") == 0
	})
}

func TestMessageSurvivesSenderSIGKILL(t *testing.T) {
	t.Parallel()
	a, b := newPeer(t, "alice"), newPeer(t, "bob")
	a.run()
	b.run()
	contacts(t, a, b)
	b.stop() // so the message can only leave alice after her restart
	a.must("send", b.id, "written before the crash")
	if err := a.d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.d.done
	a.d.done <- nil
	b.run()
	a.run()
	b.waitHistory(a, 60*time.Second, "the message at bob", func(l []string) bool {
		return countContaining(l, "< written before the crash") == 1
	})
}

func TestConnectToWrongPeerFails(t *testing.T) {
	t.Parallel()
	a, b, c := newPeer(t, "alice"), newPeer(t, "bob"), newPeer(t, "carol")
	a.run()
	b.run()
	// Carol's node_id at Bob's address: whoever answers must hold Carol's key.
	forged := fmt.Sprintf("dpc://127.0.0.1:%d?node_id=%s", b.port, c.id)
	_, errOut, code := a.dpc("connect", forged)
	if code == 0 || !strings.Contains(errOut, "not the one you named") || !strings.Contains(errOut, "not the node that was dialed") {
		t.Errorf("connect to a forged URI: want a non-zero exit naming the mismatch, got %d:\n%s", code, errOut)
	}
	if peersOut := a.must("peers"); strings.Contains(peersOut, c.id) {
		t.Errorf("peers: want the contact made for the forged URI forgotten, got:\n%s", peersOut)
	}
	// Bob saw the aborted handshake and says so (Alice may hear of the
	// failure before Bob has recorded it).
	waitFor(t, time.Minute, "the refused connection listed at bob", func() bool {
		return strings.Contains(b.must("peers"), "Recently refused incoming connections")
	})
	// Our own node_id, at any address.
	_, errOut, code = a.dpc("connect", fmt.Sprintf("dpc://127.0.0.1:%d?node_id=%s", b.port, a.id))
	if code == 0 || !strings.Contains(errOut, "own node_id") {
		t.Errorf("connect to our own node_id: want a non-zero exit saying so, got %d:\n%s", code, errOut)
	}
}

func TestUnreachedContactCanBeRemoved(t *testing.T) {
	t.Parallel()
	a, c := newPeer(t, "alice"), newPeer(t, "carol")
	a.run()
	// Carol never runs: the contact is kept and retried in the background.
	if out := a.must("connect", c.uri()); !strings.Contains(out, "not reachable yet") {
		t.Fatalf("connect to a node that is down: got\n%s", out)
	}
	if out := a.must("peers", "remove", c.id); !strings.Contains(out, "Removed "+c.id) {
		t.Errorf("peers remove: got\n%s", out)
	}
	if out := a.must("peers"); strings.Contains(out, c.id) {
		t.Errorf("peers after remove: want carol gone, got\n%s", out)
	}
	if _, errOut, code := a.dpc("peers", "remove", c.id); code == 0 || !strings.Contains(errOut, "unknown peer") {
		t.Errorf("removing an unknown peer: want a non-zero exit, got %d: %s", code, errOut)
	}
}

func TestFirewallRefusalIsClear(t *testing.T) {
	t.Parallel()
	a, b := newPeer(t, "alice"), newPeer(t, "bob")
	rules := fmt.Sprintf("rule \"group\" \"contacts\" {\n  allow = [\"messages\", \"files\", \"history\"]\n}\n"+
		"rule \"node\" %q {\n  deny = [\"messages\"]\n}\n", a.id)
	if err := os.WriteFile(filepath.Join(b.home, "firewall.hcl"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	a.run()
	b.run()
	contacts(t, a, b)
	if out, _, code := b.dpc("firewall", "check", a.id, "messages"); code != 1 || !strings.HasPrefix(out, "deny: ") || !strings.Contains(out, "firewall.hcl:5:11") {
		t.Errorf("firewall check: want deny naming the node rule and exit 1, got exit %d: %q", code, out)
	}
	// send waits for the peer's answer and says it was refused, and why.
	out, errOut, code := a.dpc("send", "--wait", "1m", b.id, "let me in")
	if code == 0 || !strings.Contains(errOut, "refused by "+b.id+": permission_denied") {
		t.Errorf("send refused by the peer's firewall: want a non-zero exit naming the refusal, got %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	a.waitHistory(b, 60*time.Second, "a refusal at alice", func(l []string) bool {
		return countContaining(l, "let me in [refused: permission_denied") == 1
	})
	if out := b.must("history", a.id); strings.Contains(out, "let me in") {
		t.Errorf("bob stored a message his firewall refused:\n%s", out)
	}
}

func writeRandomFile(t *testing.T, size int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "payload.bin")
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	x, err1 := os.ReadFile(a)
	y, err2 := os.ReadFile(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

func TestFileArrivesVerified(t *testing.T) {
	t.Parallel()
	a, b := newPeer(t, "alice"), newPeer(t, "bob")
	a.run()
	b.run()
	contacts(t, a, b)
	src := writeRandomFile(t, 3<<20+123)
	out := a.must("send-file", b.id, src)
	if !strings.Contains(out, "delivered payload.bin: the peer verified sha256") {
		t.Fatalf("send-file: want a verified delivery, got:\n%s", out)
	}
	got := filepath.Join(b.home, "files", a.id, "payload.bin")
	if !sameFile(t, src, got) {
		t.Errorf("the received file differs from the one sent (%s)", got)
	}
	if tr := b.must("transfers"); !strings.Contains(tr, "completed") {
		t.Errorf("transfers at bob: want completed, got:\n%s", tr)
	}
}

func TestFileResumesAfterReceiverKilled(t *testing.T) {
	t.Parallel()
	a, b := newPeer(t, "alice"), newPeer(t, "bob")
	// 200 MiB is above the default ask_above_mb; this test is about resuming.
	rules := "rule \"group\" \"contacts\" {\n  allow = [\"messages\", \"files\", \"history\"]\n  files {\n    ask_above_mb = 0\n  }\n}\n"
	if err := os.WriteFile(filepath.Join(b.home, "firewall.hcl"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	a.run()
	b.run()
	contacts(t, a, b)
	src := writeRandomFile(t, 200<<20)
	a.must("send-file", "--no-wait", b.id, src)
	// Kill bob once part of the file has arrived.
	partials := filepath.Join(b.home, "files", a.id, ".partial-*")
	deadline := time.Now().Add(30 * time.Second)
	var partial int64
	for partial == 0 && time.Now().Before(deadline) {
		if m, _ := filepath.Glob(partials); len(m) == 1 {
			if fi, err := os.Stat(m[0]); err == nil && fi.Size() > 0 {
				partial = fi.Size()
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if partial == 0 {
		t.Fatal("no partial file appeared at bob")
	}
	_ = b.d.cmd.Process.Signal(syscall.SIGKILL)
	<-b.d.done
	b.d.done <- nil
	if m, _ := filepath.Glob(partials); len(m) != 1 {
		t.Skip("the whole file arrived before bob was killed; nothing to resume")
	}
	b.run()
	deadline = time.Now().Add(90 * time.Second)
	got := filepath.Join(b.home, "files", a.id, "payload.bin")
	for time.Now().Before(deadline) {
		if out, _, _ := b.dpc("transfers"); strings.Contains(out, "completed") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !sameFile(t, src, got) {
		t.Fatalf("after the restart: want the complete, identical file at %s\nlog:\n%s", got, b.d.stderr)
	}
	if !strings.Contains(b.d.stderr.String(), "resuming a file transfer") {
		t.Errorf("want the transfer resumed from the partial file, not restarted; log:\n%s", b.d.stderr)
	}
}

func TestFileRefusedByFirewall(t *testing.T) {
	t.Parallel()
	a, b := newPeer(t, "alice"), newPeer(t, "bob")
	rules := "rule \"group\" \"contacts\" {\n  allow = [\"messages\", \"history\"]\n}\n"
	if err := os.WriteFile(filepath.Join(b.home, "firewall.hcl"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	a.run()
	b.run()
	contacts(t, a, b)
	_, errs, code := a.dpc("send-file", b.id, writeRandomFile(t, 1000))
	if code == 0 || !strings.Contains(errs, "transfer cancelled: firewall_denied") {
		t.Errorf("send-file to a node that takes no files: want a firewall refusal, got exit %d: %s", code, errs)
	}
}

// TestLargeFileWaitsForUser: a file above bob's ask_above_mb shows in
// dpc transfers as waiting for him and arrives only after
// dpc transfers accept ID. Before, every file was accepted at once.
func TestLargeFileWaitsForUser(t *testing.T) {
	t.Parallel()
	a, b := newPeer(t, "alice"), newPeer(t, "bob")
	rules := "rule \"group\" \"contacts\" {\n  allow = [\"messages\", \"files\", \"history\"]\n  files {\n    ask_above_mb = 1\n  }\n}\n"
	if err := os.WriteFile(filepath.Join(b.home, "firewall.hcl"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	a.run()
	b.run()
	contacts(t, a, b)
	src := writeRandomFile(t, 2<<20)
	a.must("send-file", "--no-wait", b.id, src)
	acceptRE := regexp.MustCompile(`dpc transfers accept ([A-Za-z0-9_-]+)`)
	var id, listing string
	for deadline := time.Now().Add(time.Minute); id == "" && time.Now().Before(deadline); {
		listing = b.must("transfers")
		if m := acceptRE.FindStringSubmatch(listing); m != nil && strings.Contains(listing, "waiting for you") {
			id = m[1]
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if id == "" {
		t.Fatalf("want the offer waiting for bob in dpc transfers, got:\n%s\nlog:\n%s", listing, b.d.stderr)
	}
	got := filepath.Join(b.home, "files", a.id, "payload.bin")
	if _, err := os.Stat(got); err == nil {
		t.Fatal("the file arrived before bob accepted it")
	}
	if out := b.must("transfers", "accept", id); !strings.Contains(out, "accepted payload.bin") {
		t.Errorf("transfers accept: got %q", out)
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if listing = b.must("transfers"); strings.Contains(listing, "completed") {
			break
		}
	}
	if !sameFile(t, src, got) {
		t.Fatalf("after accepting: want the identical file at %s; transfers:\n%s\nlog:\n%s", got, listing, b.d.stderr)
	}
	if _, errs, code := b.dpc("transfers", "accept", id); code == 0 || !strings.Contains(errs, "not waiting for you") {
		t.Errorf("accepting again: want a clear refusal, got exit %d: %s", code, errs)
	}
}
