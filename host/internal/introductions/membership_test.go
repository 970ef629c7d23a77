package introductions

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/channels/chancrypt"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/store"
)

// TestIntroducedMembership: the group is decided when the firewall asks: an
// introduction counts while its voucher is a contact and until it expires,
// whatever was true when it arrived.
func TestIntroducedMembership(t *testing.T) {
	t.Parallel()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ps, err := peers.New(st)
	if err != nil {
		t.Fatal(err)
	}
	newID := func() *identity.Identity {
		id, err := identity.Create(filepath.Join(t.TempDir(), "id"), identity.KeyEd25519)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	voucher, other, subject := newID(), newID(), newID()
	setContact := func(id string, contact bool) {
		if _, err := ps.Update(id, func(p *peers.Peer) { p.Contact = contact }); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	clock := start
	svc := &Service{o: ServiceOptions{Peers: ps, Now: func() time.Time { return clock }}, vouched: map[string]map[string]int64{}, count: map[string]int{}}
	vouch := func(by *identity.Identity, expires time.Time) {
		in, err := chancrypt.SignIntroduction(by.Signer, subject.NodeID, subject.Certificate.Raw, start, expires)
		if err != nil {
			t.Fatal(err)
		}
		svc.index(in)
	}

	for _, step := range []struct {
		name string
		do   func()
		want bool
	}{
		{"nobody vouched", func() {}, false},
		{"vouched by a node that is not a contact", func() { vouch(voucher, start.Add(time.Hour)) }, false},
		{"the voucher becomes a contact", func() { setContact(voucher.NodeID, true) }, true},
		{"just before the expiry", func() { clock = start.Add(time.Hour - time.Millisecond) }, true},
		{"expired", func() { clock = start.Add(time.Hour) }, false},
		{"another contact's vouch without expiry", func() { setContact(other.NodeID, true); vouch(other, time.Time{}) }, true},
		{"that contact removed", func() { setContact(other.NodeID, false) }, false},
		{"the first voucher renews its introduction", func() { vouch(voucher, start.Add(2*time.Hour)) }, true},
		{"the first voucher removed as a contact", func() { setContact(voucher.NodeID, false) }, false},
	} {
		step.do()
		if got := svc.IsIntroduced(subject.NodeID); got != step.want {
			t.Errorf("%s: IsIntroduced: want %v, got %v", step.name, step.want, got)
		}
	}
	if n := svc.count[voucher.NodeID]; n != 1 {
		t.Errorf("a renewed introduction replaces the old one: want 1 counted for the voucher, got %d", n)
	}
}
