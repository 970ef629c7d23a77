package peers

import (
	"errors"
	"slices"
	"testing"

	"github.com/dpc-go/dpc/host/internal/store"
)

func TestPeerStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	const a, b = "dpc-node-0000000000000000000000000000000a", "dpc-node-0000000000000000000000000000000b"
	if _, err := ps.Get(a); !errors.Is(err, ErrUnknownPeer) {
		t.Errorf("Get of an unknown peer: want ErrUnknownPeer, got %v", err)
	}
	if _, err := ps.Update(b, func(p *Peer) { p.Request = true }); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.Update(a, func(p *Peer) {
		p.Contact = true
		for _, u := range []string{"dpc://x:1", "dpc://y:2", "dpc://x:1"} {
			p.RememberURI(u)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if !ps.IsContact(a) || ps.IsContact(b) {
		t.Errorf("IsContact: want a yes, b no")
	}
	list, err := ps.List()
	if err != nil || len(list) != 2 || list[0].NodeID != a || !slices.Equal(list[0].URIs, []string{"dpc://x:1", "dpc://y:2"}) {
		t.Fatalf("List: want a (contact, URIs x then y) first, got %+v (err %v)", list, err)
	}
	// The contact set survives a restart.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	ps2, err := New(s2)
	if err != nil || !ps2.IsContact(a) || ps2.IsContact(b) {
		t.Errorf("after reopen: want a contact and b not (err %v)", err)
	}
}
