package introductions

import (
	"errors"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/channels/chancrypt"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
)

// FuzzAccept feeds a contact's INTRODUCE with any introduction and
// certificate bytes to the receiving side: it never panics, refuses with
// a *refusal or keeps an introduction that is the sender's own, of the
// certificate sent, and then counts for the group.
func FuzzAccept(f *testing.F) {
	st, ps, newID := fixture(f)
	self, voucher, subject := newID(), newID(), newID()
	if _, err := ps.Update(voucher.NodeID, func(p *peers.Peer) { p.Contact = true }); err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	svc := &Service{o: ServiceOptions{Store: st, Peers: ps, Identity: self, Now: func() time.Time { return now }},
		vouched: map[string]map[string]int64{}, count: map[string]int{}}
	in, err := chancrypt.SignIntroduction(voucher.Signer, subject.NodeID, subject.Certificate.Raw, now, now.Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(in.Encode(), subject.Certificate.Raw)
	f.Add(in.Encode(), voucher.Certificate.Raw)
	f.Add(in.Encode()[:20], []byte{0x30, 0x82, 0x01})
	f.Add([]byte{}, []byte{})
	s := &session.Session{PeerID: voucher.NodeID, PeerCert: voucher.Certificate}
	f.Fuzz(func(t *testing.T, intro, cert []byte) {
		got, err := svc.accept(s, dptp.Introduce{RequestID: "r", Introduction: intro, SubjectCertificate: cert})
		var r *refusal
		switch {
		case errors.As(err, &r):
			if r.code == "" || r.msg == "" {
				t.Fatalf("a refusal without code or reason: %+v", r)
			}
		case err != nil:
			t.Fatalf("want a refusal or success, got %v", err)
		case got.Voucher != voucher.NodeID || got.Subject == self.NodeID:
			t.Fatalf("kept an introduction by %s of %s", got.Voucher, got.Subject)
		case !svc.IsIntroduced(got.Subject):
			t.Fatalf("kept an introduction of %s that does not count", got.Subject)
		}
	})
}
