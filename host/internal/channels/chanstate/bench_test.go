package chanstate

import (
	"crypto"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
)

const benchPosts = 100_000

var benchOps struct {
	once sync.Once
	ch   chanop.ID
	base []*chanop.Op
	ops  []*chanop.Op
}

// benchChannel signs, once per test binary, a channel of three members and
// 100k posts of 256 B sealed bodies (plus AEAD overhead), each post naming
// the previous op as its parent, authors in turn.
func benchChannel(b *testing.B) (chanop.ID, []*chanop.Op, []*chanop.Op) {
	benchOps.once.Do(func() {
		a, bb, c := nodes[0], nodes[1], nodes[2]
		ch, create := newChain(b, a)
		addB := ch.add(a, bb, chanop.PermRead|chanop.PermWrite, create.ID(), create)
		addC := ch.add(a, c, chanop.PermRead|chanop.PermWrite, create.ID(), addB)
		benchOps.ch, benchOps.base = ch.ch, []*chanop.Op{create, addB, addC}
		authors := []int{0, 1, 2}
		prev := addC
		body := chanop.PostBody{Sealed: make([]byte, 256+40)}
		ops := make([]*chanop.Op, benchPosts)
		for i := range ops {
			au := nodes[authors[i%3]]
			op, err := chanop.Build(au.Signer, au.NodeID, ch.ch, []chanop.ID{prev.ID()}, create.ID(), int64(2000+i), body)
			if err != nil {
				b.Fatal(err)
			}
			ops[i], prev = op, op
		}
		benchOps.ops = ops
	})
	return benchOps.ch, benchOps.base, benchOps.ops
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkApplyPosts applies 100k posts to a log and reads the resolved
// state (display order and hash). "verified" includes the Ed25519
// verification of every op; "state" is the state machine's own share (the
// signature check replaced by one that accepts). Reports ops/s and the
// heap the log holds after.
func BenchmarkApplyPosts(b *testing.B) {
	ch, base, ops := benchChannel(b)
	accept := checks{
		create: realChecks.create,
		member: realChecks.member,
		verify: func(*chanop.Op, crypto.PublicKey) error { return nil },
	}
	for _, mode := range []struct {
		name   string
		checks checks
	}{{"verified", realChecks}, {"state", accept}} {
		b.Run(mode.name, func(b *testing.B) {
			var elapsed time.Duration
			var heap uint64
			for b.Loop() {
				before := heapInUse()
				start := time.Now()
				l := New(ch, Config{})
				l.checks = mode.checks
				for _, op := range base {
					if _, err := l.Add(op); err != nil {
						b.Fatal(err)
					}
				}
				for _, op := range ops {
					if _, err := l.Add(op); err != nil {
						b.Fatal(err)
					}
				}
				st := l.State()
				elapsed += time.Since(start)
				if len(st.Posts) != benchPosts {
					b.Fatalf("%d posts accepted", len(st.Posts))
				}
				heap = heapInUse() - before
				runtime.KeepAlive(l)
			}
			b.ReportMetric(float64(b.N*benchPosts)/elapsed.Seconds(), "ops/s")
			b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
			b.ReportMetric(0, "ns/op")
		})
	}
}
