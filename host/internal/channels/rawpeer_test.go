package channels_test

import (
	"testing"

	"github.com/dpc-go/dpc/host/internal/channels/chancrypt"
	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/session"
)

// rawPost builds a post by id on ch with parents, sealed with key of epoch.
func rawPost(t *testing.T, id *identity.Identity, ch, epoch chanop.ID, key chancrypt.Key, text string, parents ...chanop.ID) *chanop.Op {
	t.Helper()
	d, err := chanop.NewDraft(chanop.TypePost, ch, parents, id.NodeID, epoch, 1)
	if err != nil {
		t.Fatal(err)
	}
	dg := d.Digest()
	sealed, err := chancrypt.Seal(key, ch[:], epoch[:], dg[:], []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	op, err := d.Sign(id.Signer, chanop.PostBody{Sealed: sealed})
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// TestPushWithMissingParentIsFetchedFromTheSender: a member pushes a post
// whose parent the node lacks; the node asks the sender for it with
// CHANNEL_WANT (outside the frame-reading goroutine, so the answer on the
// same session is read) and then applies both posts. Before, there was no
// service to ask.
func TestPushWithMissingParentIsFetchedFromTheSender(t *testing.T) {
	t.Parallel()
	a := nettest.Loopback(t, "alice", nil)
	s, r, ch, add, key := inviteRawPeer(t, a)
	b := add.Body.(chanop.AddBody)
	first := rawPost(t, r, ch, b.Epoch, key, "first", add.ID())
	second := rawPost(t, r, ch, b.Epoch, key, "second", first.ID())
	if err := s.Send(dptp.CmdChannelOps, dptp.ChannelOps{ChannelID: ch.String(), Ops: [][]byte{second.Encode()}}); err != nil {
		t.Fatal(err)
	}
	want, err := dptp.Decode[dptp.ChannelWant](nettest.Next(t, s, dptp.CmdChannelWant))
	if err != nil || len(want.IDs) != 1 || want.IDs[0] != first.ID().String() {
		t.Fatalf("want a CHANNEL_WANT of the missing parent, got %+v (err %v)", want, err)
	}
	if err := s.Send(dptp.CmdChannelOps, dptp.ChannelOps{RequestID: want.RequestID, ChannelID: ch.String(), Ops: [][]byte{first.Encode()}}); err != nil {
		t.Fatal(err)
	}
	nettest.WaitFor(t, "both posts in alice's log", func() bool {
		return hasAll(texts(t, a, ch), "first", "second")
	})
}

// TestPostRekeysWhenAMemberLacksTheCurrentKey: R adds Y concurrently with
// A's removal of Z, so the removal's new key never reached Y. A's next post
// first issues a rekey wrapped to every member (Y included) and is sealed
// with it. Before, nothing issued the rekey and Y could not read.
func TestPostRekeysWhenAMemberLacksTheCurrentKey(t *testing.T) {
	t.Parallel()
	a := nettest.Loopback(t, "alice", nil)
	s, r := nettest.RawSession(t, a)
	_, z := nettest.RawSession(t, a)
	y := nettest.RawIdentity(t)
	nettest.WaitFor(t, "alice's sessions", func() bool { return a.Net.Session(r.NodeID) != nil && a.Net.Session(z.NodeID) != nil })
	ch, err := a.Channels.Create("team")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Channels.Invite(ch, r.NodeID, chanop.PermAll); err != nil {
		t.Fatal(err)
	}
	if err := a.Channels.Invite(ch, z.NodeID, 0); err != nil {
		t.Fatal(err)
	}
	var addR, addZ *chanop.Op
	for addZ == nil {
		p, err := dptp.Decode[dptp.ChannelOps](nettest.Next(t, s, dptp.CmdChannelOps))
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range p.Ops {
			op, err := chanop.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			switch op.Body.(chanop.AddBody).Member {
			case r.NodeID:
				addR = op
			case z.NodeID:
				addZ = op
			}
		}
	}
	br := addR.Body.(chanop.AddBody)
	key, err := chancrypt.Unwrap(br.WrappedKey, r.EnvelopeKey, ch[:], br.Epoch[:], r.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	w, err := chancrypt.Wrap(key, y.EnvelopeKey.PublicKey(), ch[:], br.Epoch[:], y.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	var env [chanop.EnvelopeKeySize]byte
	copy(env[:], y.EnvelopeKey.PublicKey().Bytes())
	addY, err := chanop.Build(r.Signer, r.NodeID, ch, []chanop.ID{addZ.ID()}, chanop.ID{}, 2, chanop.AddBody{
		Member: y.NodeID, Cert: y.Certificate.Raw, EnvelopeKey: env, Binding: y.EnvelopeBinding,
		Perms: chanop.PermRead, Epoch: br.Epoch, WrappedKey: w})
	if err != nil {
		t.Fatal(err)
	}

	if err := a.Channels.Remove(ch, z.NodeID); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(dptp.CmdChannelOps, dptp.ChannelOps{ChannelID: ch.String(), Ops: [][]byte{addY.Encode()}}); err != nil {
		t.Fatal(err)
	}
	nettest.WaitFor(t, "Y a member on alice's node", func() bool {
		st, err := a.Channels.StateOf(ch)
		return err == nil && st.Members == 3
	})
	before, err := a.Channels.StateOf(ch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Channels.Post(ch, "for everyone"); err != nil {
		t.Fatal(err)
	}
	after, err := a.Channels.StateOf(ch)
	if err != nil {
		t.Fatal(err)
	}
	if after.Epochs != before.Epochs+1 {
		t.Fatalf("epochs: %d before the post, %d after; want a rekey first", before.Epochs, after.Epochs)
	}
	if got := texts(t, a, ch); !hasAll(got, "for everyone") {
		t.Fatalf("alice's log: %q", got)
	}
}

// inviteRawPeer has a's node create a channel and invite a raw peer (a
// session this test speaks DPTP on itself); it returns the session, the
// peer's identity, the channel, the add op pushed to it and the epoch key
// the add wraps to it.
func inviteRawPeer(t *testing.T, a *nettest.Node) (*session.Session, *identity.Identity, chanop.ID, *chanop.Op, chancrypt.Key) {
	t.Helper()
	s, r := nettest.RawSession(t, a)
	nettest.WaitFor(t, "alice's session with the raw peer", func() bool { return a.Net.Session(r.NodeID) != nil })
	ch, err := a.Channels.Create("team")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Channels.Invite(ch, r.NodeID, 0); err != nil {
		t.Fatal(err)
	}
	push, err := dptp.Decode[dptp.ChannelOps](nettest.Next(t, s, dptp.CmdChannelOps))
	if err != nil || len(push.Ops) != 1 {
		t.Fatalf("want the add pushed to the invitee, got %+v (err %v)", push, err)
	}
	add, err := chanop.Decode(push.Ops[0])
	if err != nil {
		t.Fatal(err)
	}
	b := add.Body.(chanop.AddBody)
	key, err := chancrypt.Unwrap(b.WrappedKey, r.EnvelopeKey, ch[:], b.Epoch[:], r.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	return s, r, ch, add, key
}
