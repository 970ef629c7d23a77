package chansync

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/dptp"
)

const postBody = 300 // bytes of body per test op, about a sealed 256 B post

// cluster is n members of one channel.
type cluster struct {
	nodes []*node
	w     *wire
}

func newCluster(t testing.TB, n int, seed uint64) *cluster {
	raw, _ := genesis(seed)
	c := &cluster{w: &wire{}}
	for i := range n {
		c.nodes = append(c.nodes, newNode(t, string(rune('a'+i)), raw, nil))
	}
	return c
}

func (c *cluster) channel() ID { return c.nodes[0].log.channel }

func (c *cluster) pipe(i, j int) pipe { return pipe{from: c.nodes[i], to: c.nodes[j], w: c.w} }

// sync runs one sync session from i to j and fails the test on error.
func (c *cluster) sync(t testing.TB, i, j int) Stats {
	t.Helper()
	st, err := c.nodes[i].syncer.Sync(context.Background(), c.pipe(i, j), c.channel())
	if err != nil {
		t.Fatalf("sync %d -> %d: %v", i, j, err)
	}
	return st
}

// partitioned makes every member post perGroup ops per member while the
// members are split into groups; inside a group members sync every 100 ops.
func (c *cluster) partitioned(t testing.TB, rng *rand.Rand, groups [][]int, perMember int) {
	for done := 0; done < perMember; done += 100 {
		for _, g := range groups {
			for _, i := range g {
				for range min(100, perMember-done) {
					c.nodes[i].log.post(rng, postBody)
				}
			}
			for a := range g {
				for b := a + 1; b < len(g); b++ {
					c.sync(t, g[a], g[b])
				}
			}
		}
	}
}

// heal syncs every pair once and returns the round trips and the ops
// carried.
func (c *cluster) heal(t testing.TB) (rounds, carried int) {
	for i := range c.nodes {
		for j := i + 1; j < len(c.nodes); j++ {
			st := c.sync(t, i, j)
			rounds += st.RoundTrips
			carried += st.OpsSent + st.OpsReceived
		}
	}
	return rounds, carried
}

func (c *cluster) total() (n int) {
	for _, nd := range c.nodes {
		n += nd.log.Count(c.channel())
	}
	return n
}

// checkUnion fails unless every member holds exactly the union of all ops.
func (c *cluster) checkUnion(t testing.TB, wantCount int) {
	t.Helper()
	union := map[ID]struct{}{}
	for _, n := range c.nodes {
		for id := range n.log.ids() {
			union[id] = struct{}{}
		}
	}
	if len(union) != wantCount {
		t.Fatalf("union: want %d ops, got %d", wantCount, len(union))
	}
	for _, n := range c.nodes {
		if got := n.log.Count(c.channel()); got != len(union) {
			t.Errorf("member %s: want all %d ops, holds %d (%d pending)", n.name, len(union), got, n.log.pendingLen())
		}
	}
}

// TestSyncConvergesAfterPartition: five members split into three groups,
// each posts 2,000 ops; after the partition heals, one round of pairwise
// syncs gives every member the union.
func TestSyncConvergesAfterPartition(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 15))
	c := newCluster(t, 5, seed)
	c.partitioned(t, rng, [][]int{{0, 1}, {2, 3}, {4}}, 2000)
	before, held := *c.w, c.total()
	rounds, carried := c.heal(t)
	c.checkUnion(t, 1+5*2000)
	gained := c.total() - held
	t.Logf("heal: %d round trips, %d frames, %d bytes on the wire, %d ops carried for %d gained", rounds, c.w.frames-before.frames, c.w.bytes-before.bytes, carried, gained)
	// The covering walk and the have sample keep resent ops few.
	if carried > gained+gained/4 {
		t.Errorf("want at most 25%% of the ops carried to be ones the receiver had, carried %d for %d gained", carried, gained)
	}
	if len(c.w.errors) > 0 {
		t.Errorf("errors answered: %v", c.w.errors)
	}
	// A second round finds nothing to do: one CHANNEL_SYNC per pair.
	if again, _ := c.heal(t); again != 10 {
		t.Errorf("sync of converged members: want 10 round trips, got %d", again)
	}
}

// TestSyncLongPartition: one member was offline while the four others
// posted 10,000 ops (and it posted 50 of its own); one sync with any member
// brings it, and that member, everything.
func TestSyncLongPartition(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 16))
	c := newCluster(t, 5, seed)
	c.partitioned(t, rng, [][]int{{0, 1, 2, 3}}, 2500)
	for range 50 {
		c.nodes[4].log.post(rng, postBody)
	}
	before := *c.w
	st := c.sync(t, 4, 0)
	if got, want := c.nodes[4].log.Count(c.channel()), 1+10_000+50; got != want {
		t.Fatalf("offline member after one sync: want %d ops, got %d", want, got)
	}
	if got, want := c.nodes[0].log.Count(c.channel()), 1+10_000+50; got != want {
		t.Fatalf("its peer after one sync: want %d ops, got %d", want, got)
	}
	t.Logf("catch-up of 10,000 ops: %d round trips, %d ops received, %d bytes on the wire", st.RoundTrips, st.OpsReceived, c.w.bytes-before.bytes)
	// Each answer carries up to 160 KiB: 10,000 ops of ~400 B need ~25
	// answers, not one round trip per op or per DAG level.
	if st.RoundTrips > 40 {
		t.Errorf("want at most 40 round trips, got %d", st.RoundTrips)
	}
	c.heal(t)
	c.checkUnion(t, 1+10_000+50)
}

// TestSyncManyHeads: a log with more heads than one CHANNEL_SYNC may list
// (1,500 ops concurrent with each other) syncs in pages.
func TestSyncManyHeads(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	c := newCluster(t, 2, 3)
	a := c.nodes[0].log
	for i := range 1500 {
		raw := encodeTestOp(testOp{channel: a.channel, parents: []ID{a.channel}, body: []byte{byte(i), byte(i >> 8), byte(rng.UintN(256))}})
		if _, missing, err := a.Add(a.channel, raw); err != nil || len(missing) > 0 {
			t.Fatal(err, missing)
		}
	}
	for range 20 {
		c.nodes[1].log.post(rng, postBody)
	}
	st := c.sync(t, 1, 0) // b asks a: a's heads come in two pages
	c.checkUnion(t, 1+1500+20)
	t.Logf("1,500 heads: %d round trips", st.RoundTrips)
	st = c.sync(t, 0, 1) // a asks b: a's own heads go in two pages
	if st.RoundTrips != 2 {
		t.Errorf("converged sync with two pages of heads: want 2 round trips, got %d", st.RoundTrips)
	}
}

// TestSyncPushBudget: a push larger than the budget stops at it, says the
// sync is incomplete, and the next sync goes on from there.
func TestSyncPushBudget(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(4, 5))
	raw, _ := genesis(6)
	a := newNode(t, "a", raw, nil)
	b := newNode(t, "b", raw, nil)
	s, err := New(Config{Log: a.log, Allow: func(string, ID) bool { return true }, PushBudget: 200 << 10})
	if err != nil {
		t.Fatal(err)
	}
	a.syncer = s
	for range 1000 {
		a.log.post(rng, postBody)
	}
	w := &wire{}
	ctx := context.Background()
	syncs := 0
	for ; b.log.Count(a.log.channel) < 1001; syncs++ {
		if syncs > 10 {
			t.Fatalf("b still has %d of 1001 ops after %d syncs", b.log.Count(a.log.channel), syncs)
		}
		st, err := a.syncer.Sync(ctx, pipe{from: a, to: b, w: w}, a.log.channel)
		if err != nil {
			t.Fatal(err)
		}
		if b.log.pendingLen() != 0 {
			t.Fatalf("pushed ops must be applicable on arrival (oldest first): %d pending", b.log.pendingLen())
		}
		if !st.Incomplete && b.log.Count(a.log.channel) < 1001 {
			t.Fatalf("push stopped short without saying so: b has %d", b.log.Count(a.log.channel))
		}
	}
	if syncs < 2 {
		t.Errorf("a 200 KiB budget cannot push ~360 KB in one sync, yet it took %d", syncs)
	}
}

// TestFanOutWithMissingParents: a pushed op whose parents the receiver
// missed (it was offline for them) is kept, and its parents are fetched from
// the sender, not dropped.
func TestFanOutWithMissingParents(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(17, 18))
	c := newCluster(t, 2, 19)
	a := c.nodes[0].log
	var last ID
	for range 300 {
		last = a.post(rng, postBody)
	}
	rawLast, _ := a.Raw(a.channel, last)
	if err := c.pipe(0, 1).Send(context.Background(), dptp.ChannelOps{ChannelID: a.channel.String(), Ops: [][]byte{rawLast}}); err != nil {
		t.Fatal(err)
	}
	if !c.nodes[1].log.Has(a.channel, last) || c.nodes[1].log.pendingLen() != 0 {
		t.Fatalf("pushed op not applied after fetching its parents: has=%v pending=%d", c.nodes[1].log.Has(a.channel, last), c.nodes[1].log.pendingLen())
	}
	c.checkUnion(t, 301)
}

// BenchmarkConvergeAfterPartition: 5 members each post 2,000 ops while
// partitioned from each other, then every pair syncs once; reports the time
// to converge and the round trips (issue 15 aims at < 5 s).
func BenchmarkConvergeAfterPartition(b *testing.B) {
	var rounds, wireBytes int
	var elapsed time.Duration
	for i := range b.N {
		b.StopTimer()
		rng := rand.New(rand.NewPCG(uint64(i), 20))
		c := newCluster(b, 5, uint64(i))
		c.partitioned(b, rng, [][]int{{0}, {1}, {2}, {3}, {4}}, 2000)
		before := c.w.bytes
		b.StartTimer()
		start := time.Now()
		r, _ := c.heal(b)
		elapsed += time.Since(start)
		b.StopTimer()
		rounds += r
		wireBytes += c.w.bytes - before
		c.checkUnion(b, 1+5*2000)
		b.StartTimer()
	}
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/converge")
	b.ReportMetric(float64(rounds)/float64(b.N), "roundtrips/converge")
	b.ReportMetric(float64(wireBytes)/float64(b.N)/(1<<20), "MiB/converge")
}

// TestSyncWalkCutShort: an answerer whose ancestry walk is cut short (here
// after 50 ops) still brings a member 1,000 ops behind up to date: the asker
// wants the missing parents of what it got, by id, until they connect.
func TestSyncWalkCutShort(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(21, 22))
	raw, _ := genesis(23)
	a := newNode(t, "a", raw, nil)
	b := newNode(t, "b", raw, nil)
	s, err := New(Config{Log: a.log, Allow: func(string, ID) bool { return true }, MaxWalk: 50})
	if err != nil {
		t.Fatal(err)
	}
	a.syncer = s
	for range 1000 {
		a.log.post(rng, postBody)
	}
	st, err := b.syncer.Sync(context.Background(), pipe{from: b, to: a, w: &wire{}}, a.log.channel)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.log.Count(a.log.channel); got != 1001 {
		t.Fatalf("want 1001 ops, got %d (%d pending)", got, b.log.pendingLen())
	}
	t.Logf("walk cut at 50 ops: %d round trips", st.RoundTrips)
	if st.RoundTrips > 30 {
		t.Errorf("want about one round trip per 50 ops (at most 30), got %d", st.RoundTrips)
	}
}
