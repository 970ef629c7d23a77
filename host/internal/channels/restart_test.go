package channels

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/store"
)

// lockedBuffer is a log output tests read after the service wrote it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// offlineNode is a node's channel service over a store that outlives it,
// never connected: start builds the service again on the same store, as
// the node starting again does.
type offlineNode struct {
	st  *store.Store
	id  *identity.Identity
	log *lockedBuffer
}

func newOfflineNode(t *testing.T) *offlineNode {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	id, err := identity.Create(filepath.Join(t.TempDir(), "identity"), identity.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	return &offlineNode{st: st, id: id, log: &lockedBuffer{}}
}

func (n *offlineNode) start(t *testing.T, maxPending int) *Service {
	t.Helper()
	logger := hclog.New(&hclog.LoggerOptions{Output: n.log, Level: hclog.Info})
	s, err := NewService(Options{Net: network.New(network.Options{Identity: n.id, Logger: logger}), Store: n.st, Identity: n.id,
		Name: "alice", Logger: logger, MaxPending: maxPending})
	if err != nil {
		t.Fatalf("starting the channel service: %v", err)
	}
	return s
}

// waitingRecords lists the ops of ch the store holds as waiting for parents.
func waitingRecords(t *testing.T, st *store.Store, ch chanop.ID) []string {
	t.Helper()
	var out []string
	p := "chanop/" + ch.String() + "/"
	if err := st.Iterate([]byte(p), func(k, v []byte) error {
		if binary.BigEndian.Uint64(v) == notApplied {
			out = append(out, strings.TrimPrefix(string(k), p))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEvictedWaitingOpsLeaveTheStore: ops waiting for a parent that never
// comes, beyond the pending bound, are evicted from the log and their
// stored bytes deleted; on the next start the waiting ops are put back in
// the log's buffer, oldest (by author time) first and bounded the same
// way, and the ones evicted then leave the store too. Before, evicted ops stayed on disk forever and a restart
// forgot every waiting op but left its bytes.
func TestEvictedWaitingOpsLeaveTheStore(t *testing.T) {
	n := newOfflineNode(t)
	s := n.start(t, 3)
	ch, err := s.Create("team")
	if err != nil {
		t.Fatal(err)
	}
	var missing chanop.ID
	missing[0] = 0xee
	var ids []string
	for i := range 5 {
		op, err := chanop.Build(n.id.Signer, n.id.NodeID, ch, []chanop.ID{missing}, ch, int64(i+1), chanop.PostBody{Sealed: []byte("sealed")})
		if err != nil {
			t.Fatal(err)
		}
		if _, waits, err := s.receive(ch, op.Encode()); err != nil || len(waits) != 1 {
			t.Fatalf("post %d: missing %v, err %v", i, waits, err)
		}
		ids = append(ids, op.ID().String())
	}
	for _, tc := range []struct {
		name       string
		s          func() *Service
		maxPending int
	}{
		{"evicted while running", func() *Service { return s }, 3},
		{"bounded again on start", func() *Service { return n.start(t, 2) }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s()
			if err := s.st.w.flush(); err != nil { // received ops are written in the background
				t.Fatal(err)
			}
			got := waitingRecords(t, n.st, ch)
			newest := ids[len(ids)-tc.maxPending:]
			for _, id := range newest {
				if !strings.Contains(strings.Join(got, " "), id) {
					t.Errorf("newest waiting op %s not in the store", id)
				}
			}
			st, err := s.StateOf(ch)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.maxPending || st.Pending != tc.maxPending {
				t.Fatalf("store holds %d waiting ops, log %d pending; want %d in both", len(got), st.Pending, tc.maxPending)
			}
		})
	}
}

// TestCorruptEpochKeyRecordDoesNotStopStart: a chankey record that no
// longer opens is logged by name and the node starts with the channel
// usable; the key is taken again from the op that wrapped it to this node
// when that opens (and the record rewritten), otherwise `channel log`
// shows the posts of its epoch as unreadable instead of failing. Before,
// NewService failed and the node did not start.
func TestCorruptEpochKeyRecordDoesNotStopStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		// corrupt changes the record (and may give the node another
		// envelope key, under which neither the record nor the create's
		// wrapped key opens).
		corrupt func(t *testing.T, n *offlineNode, record []byte)
		lost    bool
	}{
		{name: "sealed key flipped", corrupt: func(t *testing.T, n *offlineNode, record []byte) {
			setFlipped(t, n.st, record, 30)
		}},
		{name: "record cut short", corrupt: func(t *testing.T, n *offlineNode, record []byte) {
			v, err := n.st.Get(record)
			if err != nil {
				t.Fatal(err)
			}
			if err := n.st.Set(record, v[:10]); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "key lost for good", lost: true, corrupt: func(t *testing.T, n *offlineNode, record []byte) {
			setFlipped(t, n.st, record, 30)
			k, err := ecdh.X25519().GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			other := *n.id
			other.EnvelopeKey = k
			n.id = &other
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newOfflineNode(t)
			s := n.start(t, 0)
			ch, err := s.Create("team")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Post(ch, "before the restart"); err != nil {
				t.Fatal(err)
			}
			record := epochKey(ch, ch)
			tc.corrupt(t, n, record)

			s = n.start(t, 0) // fails before the fix
			if logs := n.log.String(); !strings.Contains(logs, "record="+string(record)) {
				t.Fatalf("the log does not name the corrupt record %s:\n%s", record, logs)
			}
			posts, err := s.Log(ch, 0)
			if err != nil || len(posts) != 1 {
				t.Fatalf("channel log: %v, %v", posts, err)
			}
			if tc.lost {
				if posts[0].Unreadable == "" || posts[0].Text != "" {
					t.Fatalf("a post of the lost epoch: %+v, want unreadable", posts[0])
				}
				if ms, err := s.Members(ch); err != nil || len(ms) != 1 {
					t.Fatalf("members of a channel with a lost key: %v, %v", ms, err)
				}
				return
			}
			if posts[0].Text != "before the restart" {
				t.Fatalf("post after the key was taken again: %+v", posts[0])
			}
			if _, err := s.Post(ch, "after the restart"); err != nil {
				t.Fatalf("posting after the restart: %v", err)
			}
			if keys, bad, err := s.st.keys(ch); err != nil || len(bad) != 0 || len(keys) != 1 {
				t.Fatalf("the record is not rewritten: keys %d, bad %v, err %v", len(keys), bad, err)
			}
		})
	}
}

func setFlipped(t *testing.T, st *store.Store, key []byte, at int) {
	t.Helper()
	v, err := st.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	v[at] ^= 0x40
	if err := st.Set(key, v); err != nil {
		t.Fatal(err)
	}
}
