package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/store"
)

// client is an API client for the running node.
func (n *node) client() *api.Client {
	n.t.Helper()
	d := home.Dir(n.home)
	c, err := api.Dial(d.APISocket(), d.APIToken())
	if err != nil {
		n.t.Fatal(err)
	}
	return c
}

// waitNotConnected polls p's view of other until it has no session with it.
func (p *peer) waitNotConnected(other *peer) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var list []network.PeerStatus
		if err := p.client().Get(context.Background(), "/v1/peers", &list); err == nil {
			for _, st := range list {
				if st.NodeID == other.id && st.State != "connected" {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("%s still connected to %s", p.name, other.name)
}

// TestSendSaysDeliveredOrQueued: send waits for the peer's ACK event and
// says delivered; to a peer that is away it says queued at once; history
// shows each message's state.
func TestSendSaysDeliveredOrQueued(t *testing.T) {
	t.Parallel()
	a, b := newPeer(t, "alice"), newPeer(t, "bob")
	a.run()
	b.run()
	contacts(t, a, b)
	// A long --wait: the ACK event ends it, however loaded the machine.
	if out := a.must("send", "--wait", "2m", b.id, "are you there?"); !strings.HasPrefix(out, "delivered ") {
		t.Errorf("send to a connected peer: want delivered, got %q", out)
	}
	b.stop()
	a.waitNotConnected(b)
	start := time.Now()
	if out := a.must("send", "--wait", "2m", b.id, "later then"); !strings.HasPrefix(out, "queued ") {
		t.Errorf("send to a peer that is away: want queued, got %q", out)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("send to a peer that is away waited %s for an ACK that cannot come", d)
	}
	a.waitHistory(b, 60*time.Second, "both states in alice's history", func(l []string) bool {
		return countContaining(l, "> are you there? [delivered]") == 1 && countContaining(l, "> later then [queued]") == 1
	})
}

// TestChatShowsDeliveryOfItsLines: in `dpc chat`, a line sent shows up
// again as delivered once the peer acknowledges it.
func TestChatShowsDeliveryOfItsLines(t *testing.T) {
	t.Parallel()
	a, b := newPeer(t, "alice"), newPeer(t, "bob")
	a.run()
	b.run()
	contacts(t, a, b)
	c := a.cmd("chat", b.id)
	stdin, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var seen []string
	waitLine := func(what string, ok func(string) bool) {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case l, open := <-lines:
				if !open {
					t.Fatalf("chat ended before %s; it printed:\n%s", what, strings.Join(seen, "\n"))
				}
				seen = append(seen, l)
				if ok(l) {
					return
				}
			case <-deadline:
				t.Fatalf("timed out waiting for %s; chat printed:\n%s", what, strings.Join(seen, "\n"))
			}
		}
	}
	waitLine("the chat prompt", func(l string) bool { return strings.HasPrefix(l, "-- chatting with "+b.id) })
	if _, err := fmt.Fprintln(stdin, "ping from chat"); err != nil {
		t.Fatal(err)
	}
	waitLine("the line shown delivered", func(l string) bool { return strings.HasSuffix(l, "> ping from chat [delivered]") })
	b.must("send", a.id, "pong")
	waitLine("bob's answer", func(l string) bool { return strings.HasSuffix(l, "< pong") })
	_ = stdin.Close()
	if err := c.Wait(); err != nil {
		t.Errorf("chat after end of input: %v", err)
	}
	// Queued then delivered is fine; delivered then queued is not.
	all := strings.Join(seen, "\n")
	if q := strings.Index(all, "ping from chat [queued]"); q > strings.Index(all, "ping from chat [delivered]") {
		t.Errorf("chat showed the line queued after delivered:\n%s", all)
	}
}

// memory is a process's resident memory, in bytes: all of it, and the part
// that is the database's files mapped in (pages the kernel can take back).
type memory struct{ total, file int64 }

func (m memory) String() string {
	return fmt.Sprintf("%d MB (%d MB of it mapped files: the program and the database)", m.total>>20, m.file>>20)
}

// rss reads process pid's resident memory from /proc.
func rss(t *testing.T, pid int) memory {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	var m memory
	for _, l := range strings.Split(string(b), "\n") {
		name, rest, _ := strings.Cut(l, ":")
		var into *int64
		switch name {
		case "VmRSS":
			into = &m.total
		case "RssFile":
			into = &m.file
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("%s in /proc/%d/status: %v", name, pid, err)
		}
		*into = kb << 10
	}
	if m.total == 0 {
		t.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	return m
}

// TestHistoryOfManyMessagesKeepsMemoryFlat: a node holding 100,000 messages
// answers every kind of history request (a peer's history sync, the latest
// page, an older page, the whole conversation streamed, limit=0) in pages.
// Twice: the first round fills the costs that do not depend on how many
// messages there are (the store's block and index caches, 6 MB; the Go
// heap's headroom over them; the database's file pages read, which the
// kernel can take back) and must grow the resident memory by less than
// 48 MB; the second round, every request again, by less than 20 MB.
// Loading a whole conversation at once (100,000 messages) fails both.
func TestHistoryOfManyMessagesKeepsMemoryFlat(t *testing.T) {
	t.Parallel()
	const total = 100_000
	a, b := newPeer(t, "alice"), newPeer(t, "bob")
	// Seeded through the store before the node starts: the real protocol
	// would take minutes for this many.
	st, err := store.Open(store.Options{Dir: home.Dir(a.home).DB()})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Truncate(time.Millisecond).Add(-total * time.Millisecond)
	msgs := make([]chat.Message, total)
	for i := range msgs {
		m := chat.Message{ID: fmt.Sprintf("seed%06d", i), Peer: b.id, From: b.id, To: a.id, State: chat.StateReceived,
			Text: fmt.Sprintf("seed %06d: a message of a realistic length, some fifty bytes or more", i), SentAt: start.Add(time.Duration(i) * time.Millisecond)}
		if i%2 == 1 {
			m.From, m.To, m.State = a.id, b.id, chat.StateDelivered
		}
		msgs[i] = m
	}
	if _, err := chat.New(st).AddIncomingAll(msgs); err != nil {
		t.Fatal(err)
	}
	msgs = nil
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// Settled as a node's store is when its messages came over hours: the
	// compactions of 100,000 messages written in a second would otherwise
	// run (and take their memory) in the middle of the measurement.
	db, err := badger.Open(badger.DefaultOptions(home.Dir(a.home).DB()).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Flatten(2); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	a.run()
	b.run()
	a.must("connect", b.uri())
	b.must("connect", a.uri())
	pid := a.d.cmd.Process.Pid
	cold := rss(t, pid)
	historyRound(t, a, b, total, 1)
	warm := rss(t, pid)
	historyRound(t, a, b, total, 2)
	after := rss(t, pid)

	t.Logf("alice's resident memory: %s at start, %s after the first round, %s after the second", cold, warm, after)
	if growth := warm.total - cold.total; growth >= 48<<20 {
		t.Errorf("the first round of history requests for %d messages grew alice's memory by %d MB, from %s to %s; want < 48 MB", total, growth>>20, cold, warm)
	}
	if growth := after.total - warm.total; growth >= 20<<20 {
		t.Errorf("the second round of history requests for %d messages grew alice's memory by %d MB, from %s to %s; want < 20 MB", total, growth>>20, warm, after)
	}
}

// historyRound makes a's node answer every kind of history request about
// its conversation with b, which holds total messages "seed NNNNNN".
func historyRound(t *testing.T, a, b *peer, total, round int) {
	t.Helper()
	// Bob's history sync with alice: alice answers page after page, up to
	// the bound of one sync (10,000 messages); the next sync goes on.
	b.stop()
	b.run() // reconnects to alice, a contact, and asks her for history
	// Each sync starts at (and takes again) the newest message from alice
	// that bob holds: seed 009999 after the first.
	last := round*10_000 - round
	b.waitHistory(a, 2*time.Minute, "bob's history sync with alice", func(l []string) bool {
		return len(l) > 0 && strings.Contains(l[len(l)-1], fmt.Sprintf("seed %06d", last))
	})

	// The latest page, and the page before it.
	out, errOut, code := a.dpc("history", b.id)
	latest := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(latest) != chat.DefaultPageSize || !strings.Contains(latest[len(latest)-1], fmt.Sprintf("seed %06d", total-1)) {
		t.Fatalf("history: want the latest %d messages, got %d lines (exit %d), last %q\n%s", chat.DefaultPageSize, len(latest), code, latest[len(latest)-1], errOut)
	}
	_, cursor, ok := strings.Cut(errOut, "--before ")
	if !ok {
		t.Fatalf("history: want a hint with the cursor of older messages, got stderr %q", errOut)
	}
	cursor = strings.TrimSuffix(strings.TrimSpace(cursor), " --")
	older := strings.Split(strings.TrimSpace(a.must("history", b.id, "--before", cursor, "--limit", "500")), "\n")
	if len(older) != 500 || !strings.Contains(older[len(older)-1], fmt.Sprintf("seed %06d", total-chat.DefaultPageSize-1)) {
		t.Fatalf("history --before: want the 500 messages before the latest page, got %d ending %q", len(older), older[len(older)-1])
	}

	// The whole conversation, streamed page by page.
	c := a.cmd("history", "--all", b.id)
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if want := fmt.Sprintf("seed %06d", n); !strings.Contains(sc.Text(), want) {
			t.Fatalf("history --all line %d: want %q, got %q", n, want, sc.Text())
		}
		n++
	}
	if err := c.Wait(); err != nil || n != total {
		t.Fatalf("history --all: want %d lines, got %d (%v)", total, n, err)
	}

	// limit=0 is the default page, not everything.
	var page chat.Page
	if err := a.client().Get(context.Background(), "/v1/messages?limit=0&peer="+b.id, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != chat.DefaultPageSize || !page.More {
		t.Errorf("GET /v1/messages?limit=0: want a page of %d with more, got %d (more %v)", chat.DefaultPageSize, len(page.Messages), page.More)
	}
}
