package introductions_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/channels/chancrypt"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/introductions"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
)

// mayInvite is a firewall file that lets introduced nodes invite.
const mayInvite = `rule "group" "contacts" { allow = ["messages", "channel_invites"] }
rule "group" "introduced" { allow = ["channel_invites"] }
`

// TestIntroducedNodeMayInvite: A introduces C to B; B's firewall then puts
// C in "introduced" (and lets it invite, by B's rule) until B removes A as
// a contact. Before, nothing could put a node B never met into any group.
func TestIntroducedNodeMayInvite(t *testing.T) {
	t.Parallel()
	a := nettest.Loopback(t, "alice", nil)
	b := nettest.NewNode(t, nettest.Options{Name: "bob", Loopback: true, Firewall: mayInvite})
	c := nettest.Loopback(t, "carol", nil)
	nettest.Connect(t, a, b)
	nettest.Connect(t, a, c)
	carol := c.ID.NodeID

	if d := b.Net.Check(carol, firewall.ChannelInvites); d.Allowed {
		t.Fatalf("before the introduction: want carol denied, got allow by %s", d.Rule)
	}
	ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
	defer cancel()
	out, err := a.Intros.Introduce(ctx, carol, []string{b.ID.NodeID}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].To != b.ID.NodeID || out[0].Status != introductions.StatusDelivered {
		t.Fatalf("want the introduction delivered to bob, got %+v", out)
	}
	if d := b.Net.Check(carol, firewall.ChannelInvites); !d.Allowed || !strings.Contains(d.Rule, `"introduced"`) {
		t.Fatalf("after the introduction: want carol allowed by the introduced rule, got %+v", d)
	}
	if d := b.Net.Check(carol, firewall.Messages); d.Allowed {
		t.Errorf("an introduced node is not a contact: want messages denied, got allow by %s", d.Rule)
	}

	got, err := b.Intros.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Received) != 1 || got.Received[0].Voucher != a.ID.NodeID || got.Received[0].Subject != carol || !got.Received[0].Active {
		t.Errorf("bob's list: want one active introduction of carol by alice, got %+v", got.Received)
	}
	sent, err := a.Intros.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(sent.Sent) != 1 || sent.Sent[0].To != b.ID.NodeID || sent.Sent[0].Subject != carol || sent.Sent[0].Expires.IsZero() {
		t.Errorf("alice's list: want carol sent to bob with an expiry, got %+v", sent.Sent)
	}

	// The voucher removed as a contact: its vouch no longer counts.
	if err := b.Net.Remove(a.ID.NodeID); err != nil {
		t.Fatal(err)
	}
	if d := b.Net.Check(carol, firewall.ChannelInvites); d.Allowed {
		t.Errorf("alice removed: want carol denied, got allow by %s", d.Rule)
	}
	if got, _ := b.Intros.List(); len(got.Received) != 1 || got.Received[0].Active {
		t.Errorf("alice removed: want the introduction listed as inactive, got %+v", got.Received)
	}
}

// TestIntroductionQueuedForAnOfflineContact: a contact that is not
// connected when alice introduces carol gets the introduction when it
// connects. Before, an offline contact was never sent it.
func TestIntroductionQueuedForAnOfflineContact(t *testing.T) {
	t.Parallel()
	a, b, c := nettest.Loopback(t, "alice", nil), nettest.Loopback(t, "bob", nil), nettest.Loopback(t, "carol", nil)
	nettest.Connect(t, a, c)
	// bob is alice's contact, but with no address: not connected.
	if _, err := a.Peers.Update(b.ID.NodeID, func(p *peers.Peer) { p.Contact = true }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
	defer cancel()
	out, err := a.Intros.Introduce(ctx, c.ID.NodeID, []string{b.ID.NodeID}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Status != introductions.StatusQueued {
		t.Fatalf("want the introduction queued for bob, got %+v", out)
	}
	if l, _ := a.Intros.List(); len(l.Sent) != 1 || !l.Sent[0].Queued {
		t.Fatalf("want it listed as queued, got %+v", l.Sent)
	}
	nettest.Connect(t, a, b)
	nettest.WaitFor(t, "bob to hold the introduction of carol", func() bool { return b.Intros.IsIntroduced(c.ID.NodeID) })
	nettest.WaitFor(t, "alice to list it as delivered", func() bool {
		l, err := a.Intros.List()
		return err == nil && len(l.Sent) == 1 && !l.Sent[0].Queued && l.Sent[0].To == b.ID.NodeID
	})
}

// TestIntroduceErrors: what the user gets wrong is refused before anything
// is signed or sent, with an error that says what to do.
func TestIntroduceErrors(t *testing.T) {
	t.Parallel()
	a, b := nettest.Loopback(t, "alice", nil), nettest.Loopback(t, "bob", nil)
	nettest.Connect(t, a, b)
	never := nettest.RawIdentity(t).NodeID
	for name, tc := range map[string]struct {
		subject string
		to      []string
		want    error
	}{
		"introducing yourself":              {a.ID.NodeID, nil, introductions.ErrSelf},
		"a node never connected":            {never, nil, introductions.ErrUnknownNode},
		"not a node_id":                     {"bob", nil, introductions.ErrUnknownNode},
		"--to a node that is not a contact": {b.ID.NodeID, []string{never}, introductions.ErrNotContact},
		"--to the node introduced":          {b.ID.NodeID, []string{b.ID.NodeID}, introductions.ErrToSubject},
		"nobody else to introduce it to":    {b.ID.NodeID, nil, introductions.ErrNoContacts},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
			defer cancel()
			_, err := a.Intros.Introduce(ctx, tc.subject, tc.to, 0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
		})
	}
}

// TestReceiveIntroduction: an INTRODUCE from a raw peer is kept only when
// it is a contact's own, valid, current introduction of the certificate
// sent with it; every refusal is an ERROR that says why, and leaves the
// subject out of "introduced".
func TestReceiveIntroduction(t *testing.T) {
	t.Parallel()
	b := nettest.Loopback(t, "bob", nil)
	voucher := nettest.RawIdentity(t)
	if _, err := b.Peers.Update(voucher.NodeID, func(p *peers.Peer) { p.Contact = true }); err != nil {
		t.Fatal(err)
	}
	s := nettest.RawSessionAs(t, b, voucher)
	stranger := nettest.RawIdentity(t)
	ss := nettest.RawSessionAs(t, b, stranger)
	other := nettest.RawIdentity(t)

	now := time.Now()
	sign := func(by *identity.Identity, subject *identity.Identity, issued, expires time.Time) []byte {
		in, err := chancrypt.SignIntroduction(by.Signer, subject.NodeID, subject.Certificate.Raw, issued, expires)
		if err != nil {
			t.Fatal(err)
		}
		return in.Encode()
	}
	valid := func(subject *identity.Identity) []byte { return sign(voucher, subject, now, now.Add(time.Hour)) }

	for name, tc := range map[string]struct {
		// before, if set, is sent first and must be acknowledged.
		before func(subject *identity.Identity) dptp.Introduce
		send   func(subject *identity.Identity) dptp.Introduce
		// stranger sends from a peer that is not a contact.
		stranger bool
		wantCode string // "" means INTRODUCE_ACK
		wantMsg  string
	}{
		"valid": {send: func(sub *identity.Identity) dptp.Introduce {
			return dptp.Introduce{Introduction: valid(sub), SubjectCertificate: sub.Certificate.Raw}
		}},
		"never expires": {send: func(sub *identity.Identity) dptp.Introduce {
			return dptp.Introduce{Introduction: sign(voucher, sub, now, time.Time{}), SubjectCertificate: sub.Certificate.Raw}
		}},
		"expired": {send: func(sub *identity.Identity) dptp.Introduce {
			return dptp.Introduce{Introduction: sign(voucher, sub, now.Add(-2*time.Hour), now.Add(-time.Hour)), SubjectCertificate: sub.Certificate.Raw}
		}, wantCode: dptp.CodeBadRequest, wantMsg: "expired"},
		"future-dated": {send: func(sub *identity.Identity) dptp.Introduce {
			return dptp.Introduce{Introduction: sign(voucher, sub, now.Add(time.Hour), now.Add(2*time.Hour)), SubjectCertificate: sub.Certificate.Raw}
		}, wantCode: dptp.CodeBadRequest, wantMsg: "future"},
		"wrong subject certificate": {send: func(sub *identity.Identity) dptp.Introduce {
			return dptp.Introduce{Introduction: valid(sub), SubjectCertificate: other.Certificate.Raw}
		}, wantCode: dptp.CodeBadRequest, wantMsg: "vouches for"},
		"subject certificate not a certificate": {send: func(sub *identity.Identity) dptp.Introduce {
			return dptp.Introduce{Introduction: valid(sub), SubjectCertificate: []byte("not DER")}
		}, wantCode: dptp.CodeBadRequest, wantMsg: "subject_certificate"},
		"voucher not a contact": {send: func(sub *identity.Identity) dptp.Introduce {
			return dptp.Introduce{Introduction: sign(stranger, sub, now, now.Add(time.Hour)), SubjectCertificate: sub.Certificate.Raw}
		}, stranger: true, wantCode: dptp.CodePermissionDenied, wantMsg: "contacts only"},
		"someone else's introduction handed on": {send: func(sub *identity.Identity) dptp.Introduce {
			return dptp.Introduce{Introduction: sign(other, sub, now, now.Add(time.Hour)), SubjectCertificate: sub.Certificate.Raw}
		}, wantCode: dptp.CodeBadRequest, wantMsg: "not by the sender"},
		"self-introduction": {send: func(*identity.Identity) dptp.Introduce {
			in := chancrypt.Introduction{Voucher: voucher.NodeID, Subject: voucher.NodeID,
				SubjectCert: chancrypt.CertificateFingerprint(voucher.Certificate.Raw), IssuedMs: now.UnixMilli(), Signature: []byte{1}}
			return dptp.Introduce{Introduction: in.Encode(), SubjectCertificate: voucher.Certificate.Raw}
		}, wantCode: dptp.CodeBadRequest, wantMsg: "vouches for itself"},
		"the receiver itself": {send: func(*identity.Identity) dptp.Introduce {
			in, err := chancrypt.SignIntroduction(voucher.Signer, b.ID.NodeID, b.ID.Certificate.Raw, now, now.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			return dptp.Introduce{Introduction: in.Encode(), SubjectCertificate: b.ID.Certificate.Raw}
		}, wantCode: dptp.CodeBadRequest, wantMsg: "this node itself"},
		"garbage introduction": {send: func(sub *identity.Identity) dptp.Introduce {
			return dptp.Introduce{Introduction: []byte{9, 9, 9}, SubjectCertificate: sub.Certificate.Raw}
		}, wantCode: dptp.CodeBadRequest, wantMsg: "version"},
		"older than the one held": {
			before: func(sub *identity.Identity) dptp.Introduce {
				return dptp.Introduce{Introduction: valid(sub), SubjectCertificate: sub.Certificate.Raw}
			},
			send: func(sub *identity.Identity) dptp.Introduce {
				return dptp.Introduce{Introduction: sign(voucher, sub, now.Add(-time.Minute), now.Add(time.Hour)), SubjectCertificate: sub.Certificate.Raw}
			}, wantCode: dptp.CodeBadRequest, wantMsg: "issued later"},
		"newer replaces the one held": {
			before: func(sub *identity.Identity) dptp.Introduce {
				return dptp.Introduce{Introduction: sign(voucher, sub, now.Add(-time.Minute), now.Add(time.Hour)), SubjectCertificate: sub.Certificate.Raw}
			},
			send: func(sub *identity.Identity) dptp.Introduce {
				return dptp.Introduce{Introduction: valid(sub), SubjectCertificate: sub.Certificate.Raw}
			}},
	} {
		t.Run(name, func(t *testing.T) {
			// Subtests share the sessions: one at a time.
			subject := nettest.RawIdentity(t)
			from := s
			if tc.stranger {
				from = ss
			}
			if tc.before != nil {
				if e := exchange(t, from, tc.before(subject)); e != nil {
					t.Fatalf("the first introduction: want INTRODUCE_ACK, got ERROR %s: %s", e.Code, e.Message)
				}
			}
			e := exchange(t, from, tc.send(subject))
			switch {
			case tc.wantCode == "" && e != nil:
				t.Fatalf("want INTRODUCE_ACK, got ERROR %s: %s", e.Code, e.Message)
			case tc.wantCode != "" && e == nil:
				t.Fatalf("want ERROR %s about %q, got INTRODUCE_ACK", tc.wantCode, tc.wantMsg)
			case tc.wantCode != "" && (e.Code != tc.wantCode || !strings.Contains(e.Message, tc.wantMsg)):
				t.Fatalf("want ERROR %s about %q, got ERROR %s: %s", tc.wantCode, tc.wantMsg, e.Code, e.Message)
			}
			wantIn := tc.wantCode == "" || tc.before != nil
			if got := b.Intros.IsIntroduced(subject.NodeID); got != wantIn {
				t.Errorf("IsIntroduced: want %v, got %v", wantIn, got)
			}
		})
	}
	l, err := b.Intros.List()
	if err != nil {
		t.Fatal(err)
	}
	// valid, never expires, and one per before/after pair.
	if len(l.Received) != 4 {
		t.Errorf("want 4 introductions kept (older ones replaced), got %d: %+v", len(l.Received), l.Received)
	}
}

// exchange sends p on s with a fresh request_id and returns the ERROR
// answer, or nil for an INTRODUCE_ACK.
func exchange(t *testing.T, s *session.Session, p dptp.Introduce) *dptp.ErrorReply {
	t.Helper()
	p.RequestID = network.NewID()
	if err := s.Send(dptp.CmdIntroduce, p); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := s.Read()
		if err != nil {
			t.Fatalf("waiting for the answer to INTRODUCE: %v", err)
		}
		switch f.Command {
		case dptp.CmdIntroduceAck:
			a, err := dptp.Decode[dptp.IntroduceAck](f)
			if err != nil || a.RequestID != p.RequestID {
				t.Fatalf("want INTRODUCE_ACK %s, got %+v (err %v)", p.RequestID, a, err)
			}
			return nil
		case dptp.CmdError:
			e, err := dptp.Decode[dptp.ErrorReply](f)
			if err != nil || e.RequestID != p.RequestID || e.RefusedCommand != dptp.CmdIntroduce {
				t.Fatalf("want ERROR for INTRODUCE %s, got %+v (err %v)", p.RequestID, e, err)
			}
			return &e
		}
	}
}
