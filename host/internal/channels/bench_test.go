package channels_test

// Benchmarks of the channel service over real sessions, `make bench`: the
// nodes are nettest nodes in this process (in-process loopback TCP, host
// TLS, DPTP, badger in memory), each figure next to its raw limit measured
// on the same nodes in the same run.

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/channels"
	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
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

// BenchmarkHeapAfterMessages: A posts 100,000 256-byte messages that B
// receives (over the session, applied and stored); reported is the Go heap
// in use after a GC (HeapInuse, whole test process: both nodes, sender and
// receiver, stores on disk) after they arrived, minus before, next to the
// heap per message. Not RSS: both nodes share this process. The stores are
// on tmpfs (/dev/shm) where there is one: every op is a synchronous write,
// and on a disk the figure would be the disk's fsync rate, not memory.
// Right after the burst most of the delta is badger's table builders
// (flushes and compactions still running, allocated by z.Calloc on the Go
// heap), not the nodes' own structures (chanstate's entries: ~23 MB per
// node per 100k ops); a heap profile at that point shows which.
func BenchmarkHeapAfterMessages(b *testing.B) {
	const messages = 100_000
	var delta uint64
	var rate float64
	for range b.N {
		b.StopTimer()
		nodes, ch := groupWith(b, 2, nettest.Options{StoreDir: tmpfsDir(b)})
		a, m := nodes[0], nodes[1]
		before := heapInUse()
		b.StartTimer()
		start := time.Now()
		text := string(make([]byte, 256))
		for range messages {
			if _, err := a.Channels.Post(ch, text); err != nil {
				b.Fatal(err)
			}
		}
		nettest.WaitFor(b, "every message on the member", func() bool {
			st, err := m.Channels.StateOf(ch)
			return err == nil && st.Posts == messages
		})
		rate = messages / time.Since(start).Seconds()
		b.StopTimer()
		delta = heapInUse() - before
		b.StartTimer()
	}
	b.ReportMetric(float64(delta)/(1<<20), "heap-inuse-delta-MiB")
	b.ReportMetric(float64(delta)/messages, "heap-B/msg")
	b.ReportMetric(rate, "msg/s")
}

// heapInUse is HeapInuse after a GC.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
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
