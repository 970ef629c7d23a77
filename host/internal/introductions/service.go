package introductions

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/channels/chancrypt"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
	"github.com/dpc-go/dpc/host/internal/store"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

var (
	// ErrUnknownNode means no certificate of the node is known: this node
	// never had a session with it (or not since it became a contact).
	ErrUnknownNode = errors.New("no certificate of this node is known")
	// ErrSelf means the node to introduce is this node itself.
	ErrSelf = errors.New("a node cannot introduce itself")
	// ErrNotContact means a recipient named is not a contact.
	ErrNotContact = errors.New("not a contact")
	// ErrNoContacts means there is nobody to give the introduction to.
	ErrNoContacts = errors.New("no contact to introduce it to")
	// ErrToSubject means a node was named as the recipient of its own
	// introduction.
	ErrToSubject = errors.New("a node cannot be introduced to itself")
	// ErrBadValidity means the validity asked for is not positive.
	ErrBadValidity = errors.New("the validity of an introduction must be positive")
)

const (
	// DefaultValidity is how long an introduction is valid unless the
	// user says otherwise: a vouch is renewed, not forever.
	DefaultValidity = 365 * 24 * time.Hour
	// MaxPerVoucher bounds the introductions kept from one contact, so a
	// contact cannot fill the store.
	MaxPerVoucher = 1000
	// sendWait bounds the wait for one contact's INTRODUCE_ACK.
	sendWait = 10 * time.Second
)

// Delivery statuses of an introduction sent to one contact.
const (
	StatusDelivered = "delivered"
	// StatusQueued: the contact is not connected (or the session ended
	// before it answered); it is sent when the contact next connects.
	StatusQueued  = "queued"
	StatusRefused = "refused"
)

// Delivery is what became of an introduction sent to one contact.
type Delivery struct {
	To     string `json:"to"`
	Status string `json:"status"`
	// Error says why it was not delivered.
	Error string `json:"error,omitempty"`
}

// Entry is one introduction, for `dpc introductions`.
type Entry struct {
	Voucher string    `json:"voucher"`
	Subject string    `json:"subject"`
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires,omitzero"`
	// To is the contact a sent introduction was given to.
	To string `json:"to,omitempty"`
	// At is when it was received or delivered.
	At time.Time `json:"at"`
	// Active, for a received one, says it puts Subject in the firewall's
	// group "introduced" now: Voucher is a contact and it has not expired.
	Active bool `json:"active"`
	// Queued, for a sent one, says it waits for To to connect.
	Queued bool `json:"queued,omitempty"`
}

// List is every introduction this node holds: received and sent.
type List struct {
	Received []Entry `json:"received"`
	Sent     []Entry `json:"sent"`
}

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Net      *network.Network
	Store    *store.Store
	Peers    *peers.Store
	Identity *identity.Identity
	// Firewall, if set, is given the service as its "introduced" group.
	Firewall *firewall.Engine
	Logger   hclog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Service sends, receives and keeps introductions.
type Service struct {
	o   ServiceOptions
	log hclog.Logger

	mu sync.RWMutex
	// vouched maps a subject to its vouchers and each introduction's
	// expiry in Unix ms (0: never).
	vouched map[string]map[string]int64
	// count is how many introductions each voucher has here.
	count map[string]int
}

// NewService loads the introductions of the store and registers INTRODUCE
// with the network (before it starts).
func NewService(o ServiceOptions) (*Service, error) {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	svc := &Service{o: o, log: o.Logger.Named("introductions"), vouched: map[string]map[string]int64{}, count: map[string]int{}}
	err := eachRecord(o.Store, prefixReceived, func(subject, voucher string, r record) error {
		in, err := chancrypt.DecodeIntroduction(r.Introduction)
		if err != nil || in.Subject != subject || in.Voucher != voucher {
			// One bad record must not stop the node: it counts for nothing.
			svc.log.Warn("ignoring an unreadable introduction in the store", "subject", subject, "voucher", voucher, "error", err)
			return nil
		}
		svc.index(in)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load introductions: %w", err)
	}
	network.Handle(o.Net.Router(), svc.receive)
	network.Answer[dptp.IntroduceAck](o.Net)
	o.Net.AddHooks(network.Hooks{Connected: func(s *session.Session) {
		if !s.V1 && o.Peers.IsContact(s.PeerID) {
			o.Net.Go(func(ctx context.Context) { svc.flush(ctx, s) })
		}
	}})
	if o.Firewall != nil {
		o.Firewall.SetIntroduced(svc)
	}
	return svc, nil
}

// index records in in the in-memory view the firewall asks.
func (svc *Service) index(in *chancrypt.Introduction) {
	svc.mu.Lock()
	defer svc.mu.Unlock()
	m := svc.vouched[in.Subject]
	if m == nil {
		m = map[string]int64{}
		svc.vouched[in.Subject] = m
	}
	if _, ok := m[in.Voucher]; !ok {
		svc.count[in.Voucher]++
	}
	m[in.Voucher] = in.ExpiresMs
}

// IsIntroduced tells whether a current contact vouched for node with an
// introduction that has not expired (firewall.IntroducedSet).
func (svc *Service) IsIntroduced(node string) bool {
	now := svc.o.Now().UnixMilli()
	svc.mu.RLock()
	defer svc.mu.RUnlock()
	for voucher, exp := range svc.vouched[node] {
		if (exp == 0 || now < exp) && svc.o.Peers.IsContact(voucher) {
			return true
		}
	}
	return false
}

// certificate returns node's certificate: its live session's, else the one
// of its last dptp/1 session, which its peer record keeps.
func (svc *Service) certificate(node string) (*x509.Certificate, error) {
	if s := svc.o.Net.Session(node); s != nil && !s.V1 && s.PeerCert != nil {
		return s.PeerCert, nil
	}
	p, err := svc.o.Peers.Get(node)
	if err != nil && !errors.Is(err, peers.ErrUnknownPeer) {
		return nil, err
	}
	der := p.Certificate
	if len(der) == 0 {
		return nil, fmt.Errorf("%w: %s: this node never had a dptp/1 session with it; connect to it first (dpc connect URI)", ErrUnknownNode, node)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certificate of %s in the store: %w", node, err)
	}
	return c, nil
}

// Introduce signs an introduction of subject, valid for validFor (0:
// DefaultValidity), and sends it to the contacts in to, or to every
// contact but subject when to is empty. It returns what became of each.
func (svc *Service) Introduce(ctx context.Context, subject string, to []string, validFor time.Duration) ([]Delivery, error) {
	self := svc.o.Identity.NodeID
	switch {
	case subject == self:
		return nil, fmt.Errorf("%w: %s is this node", ErrSelf, subject)
	case !dpcuri.ValidNodeID(subject):
		return nil, fmt.Errorf("%w: %q is not a node_id (dpc-node- and 32 lower-case hex characters)", ErrUnknownNode, subject)
	case validFor < 0:
		return nil, fmt.Errorf("%w: got %s", ErrBadValidity, validFor)
	case validFor == 0:
		validFor = DefaultValidity
	}
	recipients, err := svc.recipients(subject, to)
	if err != nil {
		return nil, err
	}
	cert, err := svc.certificate(subject)
	if err != nil {
		return nil, err
	}
	now := svc.o.Now()
	in, err := chancrypt.SignIntroduction(svc.o.Identity.Signer, subject, cert.Raw, now, now.Add(validFor))
	if err != nil {
		return nil, err
	}
	enc := in.Encode()
	out := make([]Delivery, 0, len(recipients))
	for _, peer := range recipients {
		d := Delivery{To: peer}
		s := svc.o.Net.Session(peer)
		if s != nil {
			d = svc.send(ctx, s, enc, cert.Raw)
		} else {
			d.Status, d.Error = StatusQueued, "not connected"
		}
		if err := svc.settle(peer, subject, d, record{Introduction: enc, SubjectCertificate: cert.Raw}); err != nil {
			return out, err
		}
		if d.Status == StatusQueued {
			d.Error += ": it is sent when the contact next connects"
		}
		out = append(out, d)
	}
	svc.log.Info("introduced a node", "subject", subject, "to", len(out))
	return out, nil
}

// recipients checks the contacts named, or lists every contact.
func (svc *Service) recipients(subject string, to []string) ([]string, error) {
	if len(to) == 0 {
		list, err := svc.o.Peers.List()
		if err != nil {
			return nil, err
		}
		for _, p := range list {
			if p.Contact && p.NodeID != subject {
				to = append(to, p.NodeID)
			}
		}
		if len(to) == 0 {
			return nil, fmt.Errorf("%w: add contacts first (dpc connect URI)", ErrNoContacts)
		}
		return to, nil
	}
	var out []string
	for _, peer := range to {
		switch {
		case peer == subject:
			return nil, fmt.Errorf("%w: --to %s is the node introduced", ErrToSubject, peer)
		case !svc.o.Peers.IsContact(peer):
			return nil, fmt.Errorf("--to %s: %w; introductions go to contacts only (dpc peers lists them)", peer, ErrNotContact)
		case !slices.Contains(out, peer):
			out = append(out, peer)
		}
	}
	return out, nil
}

// send gives one contact the introduction on its session s.
func (svc *Service) send(ctx context.Context, s *session.Session, enc, certDER []byte) Delivery {
	d := Delivery{To: s.PeerID}
	if s.V1 {
		d.Status, d.Error = StatusRefused, "a D-PC v1 node does not take introductions"
		return d
	}
	ctx, cancel := context.WithTimeout(ctx, sendWait)
	defer cancel()
	id := network.NewID()
	err := svc.o.Net.RequestOn(ctx, s, id, dptp.Introduce{RequestID: id, Introduction: enc, SubjectCertificate: certDER},
		func(a dptp.Payload) (bool, error) {
			_, ok := a.(dptp.IntroduceAck)
			return ok, nil
		})
	var pe *network.PeerError
	switch {
	case err == nil:
		d.Status = StatusDelivered
	case errors.As(err, &pe):
		d.Status, d.Error = StatusRefused, pe.Message
	default:
		// No answer (the session ended, or it timed out): try again on
		// the next session.
		d.Status, d.Error = StatusQueued, err.Error()
	}
	return d
}

// settle stores what became of an introduction r of subject for contact
// to: delivered (it replaces any queued one), queued, or refused (dropped).
func (svc *Service) settle(to, subject string, d Delivery, r record) error {
	var err error
	switch d.Status {
	case StatusDelivered:
		err = putRecord(svc.o.Store, sentKey(subject, to), record{Introduction: r.Introduction, At: svc.o.Now().UTC()})
		if err == nil {
			err = svc.o.Store.Delete(queuedKey(to, subject))
		}
	case StatusQueued:
		r.At = svc.o.Now().UTC()
		err = putRecord(svc.o.Store, queuedKey(to, subject), r)
	case StatusRefused:
		svc.log.Warn("a contact refused an introduction", "to", to, "subject", subject, "reason", d.Error)
		err = svc.o.Store.Delete(queuedKey(to, subject))
	}
	if err != nil {
		return fmt.Errorf("record the introduction of %s for %s: %w", subject, to, err)
	}
	return nil
}

// flush sends the introductions queued for the contact of session s, until
// one is not answered (the rest wait for the next session).
func (svc *Service) flush(ctx context.Context, s *session.Session) {
	type item struct {
		subject string
		r       record
	}
	var items []item
	err := svc.o.Store.Iterate([]byte(prefixQueued+s.PeerID+"/"), func(key, value []byte) error {
		var r record
		if err := json.Unmarshal(value, &r); err != nil {
			return fmt.Errorf("queued introduction %s: %w", key, err)
		}
		items = append(items, item{strings.TrimPrefix(string(key), prefixQueued+s.PeerID+"/"), r})
		return nil
	})
	if err != nil {
		svc.log.Error("cannot read the queued introductions", "to", s.PeerID, "error", err)
		return
	}
	for _, it := range items {
		d := svc.send(ctx, s, it.r.Introduction, it.r.SubjectCertificate)
		if d.Status == StatusQueued {
			return
		}
		if err := svc.settle(s.PeerID, it.subject, d, it.r); err != nil {
			svc.log.Error("cannot record a queued introduction", "error", err)
			return
		}
		svc.log.Info("sent a queued introduction", "to", s.PeerID, "subject", it.subject, "status", d.Status)
	}
}

// refusal is an INTRODUCE refused: the ERROR code and the reason.
type refusal struct{ code, msg string }

func (r *refusal) Error() string { return r.msg }

func refuse(code, format string, args ...any) error {
	return &refusal{code: code, msg: fmt.Sprintf(format, args...)}
}

// receive handles an INTRODUCE: it keeps the introduction and answers
// INTRODUCE_ACK, or answers ERROR with the reason.
func (svc *Service) receive(_ context.Context, s *session.Session, p dptp.Introduce) error {
	in, err := svc.accept(s, p)
	var r *refusal
	switch {
	case errors.As(err, &r):
		svc.log.Info("refused an introduction", "peer", s.PeerID, "reason", r.msg)
		return s.Send(dptp.CmdError, dptp.ErrorReply{RequestID: p.RequestID, RefusedCommand: dptp.CmdIntroduce, Code: r.code, Message: dptp.TruncateReason(r.msg)})
	case err != nil:
		svc.log.Error("cannot keep an introduction", "peer", s.PeerID, "error", err)
		return s.Send(dptp.CmdError, dptp.ErrorReply{RequestID: p.RequestID, RefusedCommand: dptp.CmdIntroduce, Code: dptp.CodeInternal, Message: "the introduction could not be stored"})
	}
	svc.log.Info("received an introduction", "voucher", in.Voucher, "subject", in.Subject)
	svc.o.Net.Bus().Publish(network.Event{Type: "introduction", Peer: in.Voucher, Data: entryOf(in, record{At: svc.o.Now().UTC()}, true)})
	return s.Send(dptp.CmdIntroduceAck, dptp.IntroduceAck{RequestID: p.RequestID})
}

// accept checks and stores an INTRODUCE; a *refusal says why it is refused.
func (svc *Service) accept(s *session.Session, p dptp.Introduce) (*chancrypt.Introduction, error) {
	if !svc.o.Peers.IsContact(s.PeerID) {
		return nil, refuse(dptp.CodePermissionDenied, "this node takes introductions from its contacts only, and %s is not one", s.PeerID)
	}
	voucherCert := s.PeerCert
	if s.V1 || voucherCert == nil {
		return nil, refuse(dptp.CodePermissionDenied, "introductions are taken over dptp/1 sessions only")
	}
	in, err := chancrypt.DecodeIntroduction(p.Introduction)
	if err != nil {
		return nil, refuse(dptp.CodeBadRequest, "introduction: %v", err)
	}
	switch {
	case in.Voucher != s.PeerID:
		return nil, refuse(dptp.CodeBadRequest, "the introduction is by %s, not by the sender %s: a node hands on only its own", in.Voucher, s.PeerID)
	case in.Subject == svc.o.Identity.NodeID:
		return nil, refuse(dptp.CodeBadRequest, "the introduction is of this node itself")
	}
	subjectCert, err := x509.ParseCertificate(p.SubjectCertificate)
	if err != nil {
		return nil, refuse(dptp.CodeBadRequest, "subject_certificate: %v", err)
	}
	if err := in.VouchesFor(subjectCert); err != nil {
		return nil, refuse(dptp.CodeBadRequest, "%v", err)
	}
	if err := in.Verify(voucherCert.PublicKey, svc.o.Now()); err != nil {
		return nil, refuse(dptp.CodeBadRequest, "%v", err)
	}
	key := receivedKey(in.Subject, in.Voucher)
	old, found, err := getRecord(svc.o.Store, key)
	if err != nil {
		return nil, err
	}
	if found {
		if prev, err := chancrypt.DecodeIntroduction(old.Introduction); err == nil && prev.IssuedMs > in.IssuedMs {
			return nil, refuse(dptp.CodeBadRequest, "an introduction of %s by %s issued later (%s) is held already",
				in.Subject, in.Voucher, prev.Issued().UTC().Format(time.RFC3339))
		}
	} else {
		svc.mu.RLock()
		n := svc.count[in.Voucher]
		svc.mu.RUnlock()
		if n >= MaxPerVoucher {
			return nil, refuse(dptp.CodeRateLimited, "this node keeps at most %d introductions from one contact", MaxPerVoucher)
		}
	}
	if err := putRecord(svc.o.Store, key, record{Introduction: p.Introduction, SubjectCertificate: p.SubjectCertificate, At: svc.o.Now().UTC()}); err != nil {
		return nil, err
	}
	svc.index(in)
	return in, nil
}

// entryOf describes in for the user.
func entryOf(in *chancrypt.Introduction, r record, active bool) Entry {
	e := Entry{Voucher: in.Voucher, Subject: in.Subject, Issued: in.Issued().UTC(), At: r.At, Active: active}
	if exp, ok := in.Expires(); ok {
		e.Expires = exp.UTC()
	}
	return e
}

// List returns the introductions received and sent, by subject.
func (svc *Service) List() (List, error) {
	l := List{Received: []Entry{}, Sent: []Entry{}}
	now := svc.o.Now().UnixMilli()
	err := eachRecord(svc.o.Store, prefixReceived, func(subject, voucher string, r record) error {
		in, err := chancrypt.DecodeIntroduction(r.Introduction)
		if err != nil {
			return fmt.Errorf("introduction of %s by %s in the store: %w", subject, voucher, err)
		}
		active := (in.ExpiresMs == 0 || now < in.ExpiresMs) && svc.o.Peers.IsContact(voucher)
		l.Received = append(l.Received, entryOf(in, r, active))
		return nil
	})
	if err != nil {
		return List{}, err
	}
	err = eachRecord(svc.o.Store, prefixSent, func(subject, to string, r record) error {
		in, err := chancrypt.DecodeIntroduction(r.Introduction)
		if err != nil {
			return fmt.Errorf("introduction of %s sent to %s in the store: %w", subject, to, err)
		}
		e := entryOf(in, r, in.ExpiresMs == 0 || now < in.ExpiresMs)
		e.To = to
		l.Sent = append(l.Sent, e)
		return nil
	})
	if err != nil {
		return List{}, err
	}
	err = eachRecord(svc.o.Store, prefixQueued, func(to, subject string, r record) error {
		in, err := chancrypt.DecodeIntroduction(r.Introduction)
		if err != nil {
			return fmt.Errorf("introduction of %s queued for %s in the store: %w", subject, to, err)
		}
		e := entryOf(in, r, false)
		e.To, e.Queued = to, true
		l.Sent = append(l.Sent, e)
		return nil
	})
	if err != nil {
		return List{}, err
	}
	return l, nil
}

// Interface guard.
var _ firewall.IntroducedSet = (*Service)(nil)
