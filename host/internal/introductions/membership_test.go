package introductions

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/channels/chancrypt"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/store"
)

// TestIntroducedMembership: the group is decided when the firewall asks: an
// introduction counts while its voucher is a contact and until it expires,
// whatever was true when it arrived.
func TestIntroducedMembership(t *testing.T) {
	t.Parallel()
	_, ps, newID := fixture(t)
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

// TestIntroductionsSurviveARestart: the introductions stored are the group
// again when the service starts; an unreadable record counts for nothing
// and does not stop the node.
func TestIntroductionsSurviveARestart(t *testing.T) {
	t.Parallel()
	st, ps, newID := fixture(t)
	self, voucher, subject, other := newID(), newID(), newID(), newID()
	if _, err := ps.Update(voucher.NodeID, func(p *peers.Peer) { p.Contact = true }); err != nil {
		t.Fatal(err)
	}
	in, err := chancrypt.SignIntroduction(voucher.Signer, subject.NodeID, subject.Certificate.Raw, time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := putRecord(st, receivedKey(subject.NodeID, voucher.NodeID), record{Introduction: in.Encode(), SubjectCertificate: subject.Certificate.Raw}); err != nil {
		t.Fatal(err)
	}
	if err := putRecord(st, receivedKey(other.NodeID, voucher.NodeID), record{Introduction: []byte("garbage")}); err != nil {
		t.Fatal(err)
	}
	net := network.New(network.Options{Identity: self, Logger: hclog.NewNullLogger(), Peers: ps})
	svc, err := NewService(ServiceOptions{Net: net, Store: st, Peers: ps, Identity: self})
	if err != nil {
		t.Fatalf("want the service to start despite an unreadable record, got %v", err)
	}
	for name, tc := range map[string]struct {
		node string
		want bool
	}{
		"stored introduction":     {subject.NodeID, true},
		"unreadable record":       {other.NodeID, false},
		"node nobody vouched for": {voucher.NodeID, false},
	} {
		if got := svc.IsIntroduced(tc.node); got != tc.want {
			t.Errorf("%s: IsIntroduced: want %v, got %v", name, tc.want, got)
		}
	}
}

// fixture is an in-memory store with its peer list, and a maker of fresh
// Ed25519 identities.
func fixture(tb testing.TB) (*store.Store, *peers.Store, func() *identity.Identity) {
	tb.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	ps, err := peers.New(st)
	if err != nil {
		tb.Fatal(err)
	}
	return st, ps, func() *identity.Identity {
		id, err := identity.Create(filepath.Join(tb.TempDir(), "id"), identity.KeyEd25519)
		if err != nil {
			tb.Fatal(err)
		}
		return id
	}
}
