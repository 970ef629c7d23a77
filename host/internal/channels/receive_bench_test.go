package channels

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/dpc-go/dpc/host/internal/channels/chancrypt"
	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/store"
)

// BenchmarkReceiveOps is the service's receive path, `make bench`: b.N
// posts (a chain, 256-byte bodies sealed with the channel key, signed)
// handed to chansync as CHANNEL_OPS frames of frame ops (1: a member's
// pushes, one op per post; 256: a sync), each verified, applied to the log
// and written with the group commit; the clock stops once the last one is
// on disk. The store is in a directory on disk (the test's temp dir) or on
// tmpfs (/dev/shm). Next to it, measured in the same run on the same ops:
// raw Ed25519 verifications of their signatures, raw XChaCha20-Poly1305
// seals of 256 bytes, and raw badger writes of the same records (SetMany,
// 256 ops a batch, on the same kind of directory), as ops/s and as the
// receive path's share of each.
func BenchmarkReceiveOps(b *testing.B) {
	for _, where := range []string{"disk", "shm"} {
		for _, frame := range []int{1, 256} {
			b.Run("store="+where+"/frame="+strconv.Itoa(frame), func(b *testing.B) {
				dir := b.TempDir()
				if where == "shm" {
					d, err := os.MkdirTemp("/dev/shm", "dpc-bench-")
					if err != nil {
						b.Skip("no /dev/shm")
					}
					b.Cleanup(func() { _ = os.RemoveAll(d) })
					dir = d
				}
				benchReceive(b, dir, frame)
			})
		}
	}
}

func benchReceive(b *testing.B, dir string, frame int) {
	id, err := identity.Create(filepath.Join(b.TempDir(), "identity"), identity.KeyEd25519)
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: filepath.Join(dir, "node")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	ps, err := peers.New(st)
	if err != nil {
		b.Fatal(err)
	}
	net := network.New(network.Options{Identity: id, Name: "bench", Logger: hclog.NewNullLogger(), Peers: ps})
	s, err := NewService(Options{Net: net, Store: st, Identity: id, Name: "bench", Peers: ps})
	if err != nil {
		b.Fatal(err)
	}
	ch, err := s.Create("bench")
	if err != nil {
		b.Fatal(err)
	}
	s.mu.Lock()
	c := s.chans[ch]
	epoch := c.log.Control().Current
	key := c.keys[epoch]
	s.mu.Unlock()

	// The posts, built before the clock starts.
	n := b.N
	raw := make([][]byte, n)
	prev := ch
	body := make([]byte, 256)
	for i := range raw {
		d, err := chanop.NewDraft(chanop.TypePost, ch, []chanop.ID{prev}, id.NodeID, epoch, int64(i))
		if err != nil {
			b.Fatal(err)
		}
		dg := d.Digest()
		sealed, err := chancrypt.Seal(key, ch[:], epoch[:], dg[:], body)
		if err != nil {
			b.Fatal(err)
		}
		op, err := d.Sign(id.Signer, chanop.PostBody{Sealed: sealed})
		if err != nil {
			b.Fatal(err)
		}
		raw[i], prev = op.Encode(), op.ID()
	}

	b.ResetTimer()
	start := time.Now()
	for i := 0; i < n; i += frame {
		reply, _ := s.syncer.Handle(id.NodeID, dptp.ChannelOps{ChannelID: ch.String(), Ops: raw[i:min(n, i+frame)]})
		if reply != nil {
			b.Fatalf("frame %d refused: %+v", i/frame, reply)
		}
	}
	if err := s.st.w.enqueue([]store.KV{{Key: []byte("bench/flush")}}, nil, true); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if got := c.log.Len(); got != n+1 {
		b.Fatalf("%d ops in the log, want %d", got, n+1)
	}
	rate := float64(n) / elapsed.Seconds()

	verify := rawVerifyRate(b, id, raw)
	seal := rawSealRate(b, n)
	write := rawWriteRate(b, filepath.Join(dir, "raw"), ch, raw)
	b.ReportMetric(rate, "ops/s")
	b.ReportMetric(verify, "raw-verify-ops/s")
	b.ReportMetric(seal, "raw-seal-ops/s")
	b.ReportMetric(write, "raw-badger-ops/s")
	b.ReportMetric(100*rate/verify, "%-of-verify")
	b.ReportMetric(100*rate/write, "%-of-badger")
}

// rawVerifyRate times ed25519.Verify over every op's signature (the
// message: the op's bytes less the signature, its size).
func rawVerifyRate(b *testing.B, id *identity.Identity, raw [][]byte) float64 {
	pub := id.Signer.Public().(ed25519.PublicKey)
	msgs := make([][]byte, len(raw))
	sigs := make([][]byte, len(raw))
	for i, r := range raw {
		msgs[i] = r[:len(r)-ed25519.SignatureSize]
		sig, err := id.Signer.Sign(rand.Reader, msgs[i], crypto.Hash(0))
		if err != nil {
			b.Fatal(err)
		}
		sigs[i] = sig
	}
	start := time.Now()
	for i := range msgs {
		if !ed25519.Verify(pub, msgs[i], sigs[i]) {
			b.Fatal("raw verify failed")
		}
	}
	return float64(len(msgs)) / time.Since(start).Seconds()
}

// rawSealRate times XChaCha20-Poly1305 seals of 256 bytes (a cipher and a
// random nonce each, as chancrypt does).
func rawSealRate(b *testing.B, n int) float64 {
	key := make([]byte, chacha20poly1305.KeySize)
	pt := make([]byte, 256)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	start := time.Now()
	for range n {
		aead, err := chacha20poly1305.NewX(key)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = rand.Read(nonce)
		_ = aead.Seal(nil, nonce, pt, nil)
	}
	return float64(n) / time.Since(start).Seconds()
}

// rawWriteRate times badger writes of the records the service writes per
// op (the op with its seq, the seq index entry), 256 ops a SetMany, into a
// fresh store in dir.
func rawWriteRate(b *testing.B, dir string, ch chanop.ID, raw [][]byte) float64 {
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var kvs []store.KV
	for i, r := range raw {
		var id chanop.ID
		binary.BigEndian.PutUint64(id[:], uint64(i))
		kvs = appliedRecords(kvs, ch, id, uint64(i), r)
	}
	start := time.Now()
	for i := 0; i < len(kvs); i += 2 * 256 {
		if err := st.SetMany(kvs[i:min(len(kvs), i+2*256)]); err != nil {
			b.Fatal(err)
		}
	}
	return float64(len(raw)) / time.Since(start).Seconds()
}
