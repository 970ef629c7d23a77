package channels_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/channels"
	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/channels/chanstate"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/store"
)

// TestPushedFramesApplyEveryOpOnceAcrossACrash: a member pushes 3,000
// posts (three concurrent branches merging now and then) in frames whose
// ops come children first, so most wait for parents later in the frame and
// are applied in batches. Every op is applied and announced once; a copy of
// the store taken after the last channel.op event (a crash right then)
// replays every op once, parents before children, to the same state hash
// as a log that added the ops one by one. With the group commit, events
// are published after the write, so the copy must hold every announced op.
func TestPushedFramesApplyEveryOpOnceAcrossACrash(t *testing.T) {
	t.Parallel()
	const frames, perFrame = 12, 250
	dir := t.TempDir()
	a := nettest.NewNode(t, nettest.Options{Name: "alice", Loopback: true, StoreDir: filepath.Join(dir, "alice")})
	s, r, ch, add, key := inviteRawPeer(t, a)
	b := add.Body.(chanop.AddBody)
	rawCreate, err := a.Channels.RawOp(ch, ch)
	if err != nil {
		t.Fatal(err)
	}
	create, err := chanop.Decode(rawCreate)
	if err != nil {
		t.Fatal(err)
	}

	// Three branches from the add; every 100 posts one post merges them.
	parents := map[chanop.ID][]chanop.ID{create.ID(): nil, add.ID(): add.Header.Parents}
	posts := make([]*chanop.Op, 0, frames*perFrame)
	tips := []chanop.ID{add.ID(), add.ID(), add.ID()}
	for i := range frames * perFrame {
		var ps []chanop.ID
		br := i % 3
		if i%100 == 99 {
			ps = slices.Compact(sortedIDs(tips))
		} else {
			ps = []chanop.ID{tips[br]}
		}
		op := rawPost(t, r, ch, b.Epoch, key, "post "+strconv.Itoa(i), ps...)
		if i%100 == 99 {
			tips = []chanop.ID{op.ID(), op.ID(), op.ID()}
		} else {
			tips[br] = op.ID()
		}
		parents[op.ID()] = op.Header.Parents
		posts = append(posts, op)
	}

	// Events are collected while the frames are applied (the bus drops
	// what a slow subscriber has no room for, so none is required, but
	// none may come twice or before its op is on disk).
	events, stop := a.Net.Bus().Subscribe()
	announced := make(chan map[string]int)
	go func() {
		seen := map[string]int{}
		for e := range events {
			if op, ok := e.Data.(channels.OpEvent); ok && e.Type == "channel.op" {
				seen[op.Op]++
			}
			if e.Type == "test.end" {
				break
			}
		}
		announced <- seen
	}()
	for f := range frames {
		var raw [][]byte
		for _, op := range slices.Backward(posts[f*perFrame : (f+1)*perFrame]) {
			raw = append(raw, op.Encode())
		}
		if err := s.Send(dptp.CmdChannelOps, dptp.ChannelOps{ChannelID: ch.String(), Ops: raw}); err != nil {
			t.Fatal(err)
		}
	}
	nettest.WaitFor(t, "every post applied on alice's node", func() bool {
		st, err := a.Channels.StateOf(ch)
		return err == nil && st.Posts == len(posts)
	})
	// Alice's own post returns once it is on disk, and with it everything
	// queued before it.
	mine, err := a.Channels.Post(ch, "after the frames")
	if err != nil {
		t.Fatal(err)
	}
	rawMine, err := a.Channels.RawOp(ch, mine)
	if err != nil {
		t.Fatal(err)
	}
	last, err := chanop.Decode(rawMine)
	if err != nil {
		t.Fatal(err)
	}
	parents[mine] = last.Header.Parents
	a.Net.Bus().Publish(network.Event{Type: "test.end"})
	seen := <-announced
	stop()
	for id, n := range seen {
		if n > 1 {
			t.Fatalf("op %s announced %d times", id, n)
		}
	}

	// The state a log reaches adding the same ops one by one.
	ref := chanstate.New(ch, chanstate.Config{})
	for _, op := range slices.Concat([]*chanop.Op{create, add}, posts, []*chanop.Op{last}) {
		if res, err := ref.Add(op); err != nil || len(res.Stored) != 1 {
			t.Fatalf("reference log: %v %+v", err, res)
		}
	}
	want := fmt.Sprintf("%x", ref.State().Hash)
	if got := hash(t, a, ch); got != want {
		t.Fatalf("alice's state hash %s, one by one %s", got, want)
	}

	crash := filepath.Join(dir, "crash")
	copyDir(t, filepath.Join(dir, "alice"), crash)
	st, err := store.Open(store.Options{Dir: crash})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The replay order: every op once, at consecutive seqs, parents first.
	var order []chanop.ID
	prefix := []byte("chanseq/" + ch.String() + "/")
	err = st.Iterate(prefix, func(k, v []byte) error {
		if seq := binary.BigEndian.Uint64(k[len(prefix):]); seq != uint64(len(order)) {
			return fmt.Errorf("seq %d at position %d", seq, len(order))
		}
		order = append(order, chanop.ID(v))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != len(parents) {
		t.Fatalf("the copy replays %d ops, want %d", len(order), len(parents))
	}
	at := map[chanop.ID]int{}
	for i, id := range order {
		if _, dup := at[id]; dup {
			t.Fatalf("op %s twice in the replay order", id)
		}
		ps, ok := parents[id]
		if !ok {
			t.Fatalf("unknown op %s in the replay order", id)
		}
		for _, p := range ps {
			if _, ok := at[p]; !ok {
				t.Fatalf("op %s replayed before its parent %s", id, p)
			}
		}
		at[id] = i
	}
	for id := range seen {
		if _, ok := at[mustParse(t, id)]; !ok {
			t.Fatalf("op %s was announced but is not in the copy of the store", id)
		}
	}
	ps, err := peers.New(st)
	if err != nil {
		t.Fatal(err)
	}
	net := network.New(network.Options{Identity: a.ID, Name: "alice", Logger: hclog.NewNullLogger(), Peers: ps})
	restarted, err := channels.NewService(channels.Options{Net: net, Store: st, Identity: a.ID, Name: "alice", Peers: ps})
	if err != nil {
		t.Fatal(err)
	}
	got, err := restarted.StateOf(ch)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash != want || got.Posts != len(posts)+1 {
		t.Fatalf("after the crash: %d posts, hash %s; want %d, %s", got.Posts, got.Hash, len(posts)+1, want)
	}
}

func mustParse(t *testing.T, s string) chanop.ID {
	t.Helper()
	id, err := chanop.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func sortedIDs(ids []chanop.ID) []chanop.ID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b chanop.ID) int { return slices.Compare(a[:], b[:]) })
	return out
}

// copyDir copies the regular files of src into dst: a badger directory
// copied while its database is open is what a crash leaves on disk.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || e.Name() == "LOCK" {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err == nil {
			_, err = io.Copy(out, in)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}
