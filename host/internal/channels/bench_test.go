package channels_test

// Benchmarks of the channel service over real sessions, `make bench`: the
// nodes are nettest nodes in this process (in-process loopback TCP, host
// TLS, DPTP, badger in memory), each figure next to its raw limit measured
// on the same nodes in the same run.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/channels"
	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/node"
	"github.com/dpc-go/dpc/host/internal/peers"
)

// group is n connected nodes (a full mesh) in one channel the first one
// created, every member having accepted.
func group(tb testing.TB, n int) ([]*nettest.Node, chanop.ID) {
	tb.Helper()
	return groupWith(tb, n, nettest.Options{})
}

// groupWith is group with the nodes' options (name, loopback and firewall
// set here); a StoreDir gets one subdirectory per node.
func groupWith(tb testing.TB, n int, o nettest.Options) ([]*nettest.Node, chanop.ID) {
	tb.Helper()
	storeDir := o.StoreDir
	rules, err := os.ReadFile("testdata/firewall_invites.hcl")
	if err != nil {
		tb.Fatal(err)
	}
	nodes := make([]*nettest.Node, n)
	for i := range nodes {
		o.Name, o.Loopback, o.Firewall = "n"+strconv.Itoa(i), true, string(rules)
		if storeDir != "" {
			o.StoreDir = filepath.Join(storeDir, o.Name)
		}
		nodes[i] = nettest.NewNode(tb, o)
	}
	for i, a := range nodes {
		for _, b := range nodes[i+1:] {
			nettest.Connect(tb, a, b)
		}
	}
	ch, err := nodes[0].Channels.Create("bench")
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range nodes[1:] {
		invite(tb, nodes[0], m, ch)
	}
	for _, m := range nodes {
		nettest.WaitFor(tb, m.Name+" sees every member", func() bool {
			ms, err := m.Channels.Members(ch)
			return err == nil && len(ms) == n
		})
	}
	return nodes, ch
}

func pct(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// BenchmarkPostToMemberEvent times a post on A (signed, sealed, stored,
// pushed) → the channel.op event on B's bus (received, verified, applied,
// stored), one post at a time, p50 and p99, next to the raw session round
// trip between the same two nodes (PING → PONG, raw-rtt-*).
func BenchmarkPostToMemberEvent(b *testing.B) {
	nodes, ch := group(b, 2)
	a, m := nodes[0], nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
	defer cancel()
	rtt := make([]time.Duration, 0, b.N)
	for range b.N {
		d, err := a.Ping.RTT(ctx, m.ID.NodeID)
		if err != nil {
			b.Fatal(err)
		}
		rtt = append(rtt, d)
	}
	events, stop := m.Net.Bus().Subscribe()
	defer stop()
	text := string(make([]byte, 256))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		id, err := a.Channels.Post(ch, text)
		if err != nil {
			b.Fatal(err)
		}
		for {
			e := nettest.NextEvent(b, events, "channel.op")
			if op, ok := e.Data.(channels.OpEvent); ok && op.Op == id.String() {
				break
			}
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	slices.Sort(rtt)
	b.ReportMetric(micros(pct(lat, 0.50)), "p50-µs")
	b.ReportMetric(micros(pct(lat, 0.99)), "p99-µs")
	b.ReportMetric(micros(pct(rtt, 0.50)), "raw-rtt-p50-µs")
	b.ReportMetric(micros(pct(rtt, 0.99)), "raw-rtt-p99-µs")
}

// BenchmarkConvergeAfterPartitionNet: five members, each cut off from every
// other (Network.Remove on both sides), post 2,000 ops each; the clock runs
// from reconnecting them (a full mesh) until all five state hashes are
// equal. Compare with chansync's BenchmarkConvergeAfterPartition, the same
// shape in memory with no network.
func BenchmarkConvergeAfterPartitionNet(b *testing.B) {
	const members, perMember = 5, 2000
	var elapsed time.Duration
	for range b.N {
		b.StopTimer()
		nodes, ch := group(b, members)
		for i, x := range nodes {
			for _, y := range nodes[i+1:] {
				if err := x.Net.Remove(y.ID.NodeID); err != nil {
					b.Fatal(err)
				}
				if err := y.Net.Remove(x.ID.NodeID); err != nil {
					b.Fatal(err)
				}
			}
		}
		for _, x := range nodes {
			nettest.WaitFor(b, x.Name+" alone", func() bool {
				ps, err := x.Net.Peers()
				return err == nil && !slices.ContainsFunc(ps, func(p network.PeerStatus) bool { return p.State == "connected" })
			})
		}
		for _, x := range nodes {
			for i := range perMember {
				if _, err := x.Channels.Post(ch, x.Name+" "+strconv.Itoa(i)); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StartTimer()
		start := time.Now()
		for i, x := range nodes {
			for _, y := range nodes[i+1:] {
				nettest.Connect(b, x, y)
			}
		}
		want := members * perMember
		for _, x := range nodes {
			nettest.WaitFor(b, x.Name+" holds every post", func() bool {
				st, err := x.Channels.StateOf(ch)
				return err == nil && st.Posts >= want
			})
		}
		nettest.WaitFor(b, "equal state hashes", func() bool {
			h := hash(b, nodes[0], ch)
			return !slices.ContainsFunc(nodes[1:], func(n *nettest.Node) bool { return hash(b, n, ch) != h })
		})
		elapsed += time.Since(start)
	}
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/converge")
}

// BenchmarkReceiverRSS: A (this process, store on tmpfs) posts 100,000
// 256-byte messages to B, a node in a process of its own (this test binary
// run again as TestReceiverProcess, store in a directory on disk), which
// receives them over its session, verifies, applies and stores them.
// Reported is B's own memory once it holds them all, after a GC: VmRSS and
// VmHWM (its peak) from /proc/self/status, the anonymous and file-backed
// parts of the RSS (RssAnon; RssFile is mostly badger's memory-mapped
// tables and value log, which the kernel may drop), the Go heap in use and
// the heap memory the Go runtime still holds from the system (in use, or
// freed and not yet returned: after a burst, most of the anonymous RSS);
// next to the rate of the whole path (A's posts, each on tmpfs before
// Post returns, pushed, received and written by B).
func BenchmarkReceiverRSS(b *testing.B) {
	const messages = 100_000
	var r receiverReport
	var rate float64
	for range b.N {
		b.StopTimer()
		rules, err := os.ReadFile("testdata/firewall_invites.hcl")
		if err != nil {
			b.Fatal(err)
		}
		a := nettest.NewNode(b, nettest.Options{Name: "a", Loopback: true, Firewall: string(rules), StoreDir: filepath.Join(tmpfsDir(b), "a")})
		p := startReceiver(b, a, messages)
		ch, err := a.Channels.Create("bench")
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Channels.Invite(ch, p.nodeID, 0); err != nil {
			b.Fatal(err)
		}
		p.expect(b, "joined")
		nettest.WaitFor(b, "the receiver a member on A", func() bool {
			ms, err := a.Channels.Members(ch)
			return err == nil && len(ms) == 2
		})
		b.StartTimer()
		start := time.Now()
		text := string(make([]byte, 256))
		for range messages {
			if _, err := a.Channels.Post(ch, text); err != nil {
				b.Fatal(err)
			}
		}
		r = p.report(b)
		rate = messages / time.Since(start).Seconds()
		b.StopTimer()
	}
	b.ReportMetric(float64(r.VmRSS)/1024, "rss-MiB")
	b.ReportMetric(float64(r.VmHWM)/1024, "rss-peak-MiB")
	b.ReportMetric(float64(r.RssAnon)/1024, "rss-anon-MiB")
	b.ReportMetric(float64(r.RssFile)/1024, "rss-file-MiB")
	b.ReportMetric(float64(r.HeapInuse)/(1<<20), "heap-inuse-MiB")
	b.ReportMetric(float64(r.HeapSys-r.HeapReleased)/(1<<20), "heap-held-MiB")
	b.ReportMetric(rate, "msg/s")
}

// receiverReport is what TestReceiverProcess prints once it holds every
// message: its /proc/self/status figures (KiB) and Go heap (bytes).
type receiverReport struct {
	VmRSS, VmHWM, RssAnon, RssFile   uint64
	HeapInuse, HeapSys, HeapReleased uint64
}

// receiverEnv names the receiver's settings: its store directory, the
// sender's node_id and the messages to wait for.
const (
	receiverEnvDir      = "DPC_BENCH_RECEIVER_DIR"
	receiverEnvSender   = "DPC_BENCH_RECEIVER_SENDER"
	receiverEnvMessages = "DPC_BENCH_RECEIVER_MESSAGES"
	// receiverEnvHeapProfile, if set, is where it writes a heap profile.
	receiverEnvHeapProfile = "DPC_BENCH_RECEIVER_HEAP_PROFILE"
)

// receiverProc is the receiver process as the benchmark drives it: lines
// on its stdout.
type receiverProc struct {
	nodeID string
	lines  chan string
	tail   []string // its last other lines (the test framework's)
}

// startReceiver runs TestReceiverProcess in a new process of this test
// binary and connects a to it.
func startReceiver(b *testing.B, a *nettest.Node, messages int) *receiverProc {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReceiverProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), receiverEnvDir+"="+filepath.Join(b.TempDir(), "b"), receiverEnvSender+"="+a.ID.NodeID,
		receiverEnvMessages+"="+strconv.Itoa(messages))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &receiverProc{lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	var uri string
	for uri == "" {
		l := p.next(b)
		if rest, ok := strings.CutPrefix(l, "receiver "); ok {
			p.nodeID, uri, _ = strings.Cut(rest, " ")
		}
	}
	if _, err := a.Peers.Update(p.nodeID, func(pr *peers.Peer) { pr.Contact = true }); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
	defer cancel()
	for {
		st, err := a.Net.Connect(ctx, uri, network.ConnectOptions{})
		if err == nil && st.State == "connected" {
			return p
		}
		if ctx.Err() != nil {
			b.Fatalf("connecting to the receiver at %s: state %q, %v", uri, st.State, err)
		}
	}
}

// next returns the receiver's next line of its own (the test framework's
// are skipped).
func (p *receiverProc) next(b *testing.B) string {
	b.Helper()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				b.Fatalf("the receiver process ended; its last lines:\n%s", strings.Join(p.tail, "\n"))
			}
			if strings.HasPrefix(l, "receiver ") {
				return l
			}
			p.tail = append(p.tail[max(0, len(p.tail)-20):], l)
		case <-time.After(nettest.WaitLimit):
			b.Fatal("the receiver process said nothing for", nettest.WaitLimit)
		}
	}
}

func (p *receiverProc) expect(b *testing.B, word string) {
	b.Helper()
	if l := p.next(b); l != "receiver "+word {
		b.Fatalf("receiver: %q, want %q", l, "receiver "+word)
	}
}

// report waits for the receiver's figures (printed once it holds every
// message).
func (p *receiverProc) report(b *testing.B) receiverReport {
	b.Helper()
	l := p.next(b)
	js, ok := strings.CutPrefix(l, "receiver report ")
	var r receiverReport
	if !ok {
		b.Fatalf("receiver: %q, want its report", l)
	}
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		b.Fatalf("receiver report %q: %v", js, err)
	}
	return r
}

// TestReceiverProcess is BenchmarkReceiverRSS's receiving node, run in a
// process of its own (it does nothing unless the benchmark set its
// environment): it accepts the sender's invite, waits until it holds every
// message and prints its memory figures.
func TestReceiverProcess(t *testing.T) {
	dir := os.Getenv(receiverEnvDir)
	if dir == "" {
		t.Skip("the receiver process of BenchmarkReceiverRSS")
	}
	messages, err := strconv.Atoi(os.Getenv(receiverEnvMessages))
	if err != nil {
		t.Fatal(err)
	}
	node.LimitMemory() // as `dpc run` does
	rules, err := os.ReadFile("testdata/firewall_invites.hcl")
	if err != nil {
		t.Fatal(err)
	}
	n := nettest.NewNode(t, nettest.Options{Name: "b", Loopback: true, Firewall: string(rules), StoreDir: dir})
	if _, err := n.Peers.Update(os.Getenv(receiverEnvSender), func(p *peers.Peer) { p.Contact = true }); err != nil {
		t.Fatal(err)
	}
	events, stop := n.Net.Bus().Subscribe()
	fmt.Printf("receiver %s %s\n", n.ID.NodeID, n.URI())
	e := nettest.NextEvent(t, events, "channel.invite")
	stop()
	in := e.Data.(channels.InviteEvent)
	ch, err := channels.ParseChannel(in.Channel)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
	defer cancel()
	if err := n.Channels.Accept(ctx, ch); err != nil {
		t.Fatal(err)
	}
	fmt.Println("receiver joined")
	// The create, the add and the messages.
	// A cheap condition, polled until the sender is done (at its pace:
	// far longer than nettest.WaitLimit).
	for deadline := time.Now().Add(10 * time.Minute); n.Channels.Held(ch) < messages+2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the receiver holds %d ops, want %d", n.Channels.Held(ch), messages+2)
		}
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r := receiverReport{HeapInuse: ms.HeapInuse, HeapSys: ms.HeapSys, HeapReleased: ms.HeapReleased}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(l, ":")
		kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			r.VmRSS = kb
		case "VmHWM":
			r.VmHWM = kb
		case "RssAnon":
			r.RssAnon = kb
		case "RssFile":
			r.RssFile = kb
		}
	}
	if path := os.Getenv(receiverEnvHeapProfile); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// Checked after the figures: resolving the whole state (what `dpc
	// channel state` does) builds, and caches, a list of every post.
	if st, err := n.Channels.StateOf(ch); err != nil || st.Posts != messages {
		t.Fatalf("the receiver holds %d of %d messages (%v)", st.Posts, messages, err)
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("receiver report %s\n", js)
}

// tmpfsDir is a fresh directory on /dev/shm, or in the test's temp dir
// without one; removed when the benchmark ends.
func tmpfsDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "dpc-bench-")
	if err != nil {
		return tb.TempDir()
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
