package peers

import (
	"errors"
	"slices"
	"testing"
	"time"

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

// TestStrangerRecordsAreBounded: records of new strangers stop at the bound
// (contacts and known strangers are still updated), and old strangers are
// pruned while contacts stay.
func TestStrangerRecordsAreBounded(t *testing.T) {
	t.Parallel()
	s, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ps, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	id := func(c byte) string { return "dpc-node-000000000000000000000000000000" + string([]byte{'0', c}) }
	stranger := func(p *Peer) { p.Request = true }
	for _, tc := range []struct {
		name    string
		id      string
		fn      func(*Peer)
		wantErr error
	}{
		{"first stranger", id('1'), stranger, nil},
		{"second stranger", id('2'), stranger, nil},
		{"third stranger over the bound", id('3'), stranger, ErrTooManyStrangers},
		{"a known stranger seen again", id('1'), func(p *Peer) { p.Name = "again" }, nil},
		{"a new contact", id('4'), func(p *Peer) { p.Contact = true }, nil},
	} {
		if _, err := ps.UpdateBounded(tc.id, 2, tc.fn); !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: want %v, got %v", tc.name, tc.wantErr, err)
		}
	}
	if ps.Known(id('3')) || !ps.Known(id('1')) || ps.Strangers() != 2 {
		t.Errorf("want strangers 1 and 2 on record and not 3, got %d strangers", ps.Strangers())
	}
	pruned, err := ps.PruneStrangers(time.Now().Add(time.Hour), func(i string) bool { return i == id('2') })
	if err != nil || !slices.Equal(pruned, []string{id('1')}) {
		t.Errorf("PruneStrangers: want stranger 1 pruned (2 kept, 4 a contact), got %v (err %v)", pruned, err)
	}
	if ps.Known(id('1')) || !ps.Known(id('4')) || ps.Strangers() != 1 {
		t.Errorf("after pruning: want stranger 1 gone, contact 4 kept, 1 stranger left; got %d", ps.Strangers())
	}
}
