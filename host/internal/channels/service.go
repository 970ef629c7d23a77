package channels

import (
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/time/rate"

	"github.com/dpc-go/dpc/host/internal/channels/chancrypt"
	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/channels/chanstate"
	"github.com/dpc-go/dpc/host/internal/channels/chansync"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/store"
)

// MemberKeys are what an invite needs of the invitee: its certificate
// (DER), its X25519 envelope public key and its node key's signature
// binding the two (identity's envelope binding).
type MemberKeys struct {
	Cert        []byte
	EnvelopeKey [chanop.EnvelopeKeySize]byte
	Binding     []byte
}

// Options configure a Service.
type Options struct {
	Net      *network.Network
	Store    *store.Store
	Identity *identity.Identity
	// Name is this node's display name (the author name of its posts).
	Name string
	// Peers hold the certificate and envelope key of peers seen before
	// (invites to offline peers) and their names.
	Peers  *peers.Store
	Logger hclog.Logger
	// WantRate and WantBurst limit the CHANNEL_WANTs one peer may send
	// (defaults: 50/s, burst 100).
	WantRate  rate.Limit
	WantBurst int

	// Mailbox, if set, carries ops to members with no session (mailbox.go).
	Mailbox Mailbox
}

// Service is the channel capability of a node.
type Service struct {
	net    *network.Network
	st     *chanStore
	id     *identity.Identity
	name   string
	peers  *peers.Store
	log    hclog.Logger
	syncer *chansync.Syncer
	pool   *chanstate.PendingPool

	mu    sync.Mutex
	chans map[chanop.ID]*channel

	fetchMu  sync.Mutex
	fetching map[string]bool

	wantMu    sync.Mutex
	wants     map[string]*rate.Limiter
	wantRate  rate.Limit
	wantBurst int

	mailbox Mailbox
}

// channel is a joined channel: its log and the epoch keys this node holds.
type channel struct {
	id   chanop.ID
	log  *chanstate.Log
	meta meta
	keys map[chanop.ID]chancrypt.Key
	seq  uint64 // the next apply seq
}

// NewService builds the service, rebuilds every joined channel's log from
// the store and registers the channel commands with o.Net (before it starts).
func NewService(o Options) (*Service, error) {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	lg := o.Logger.Named("channels")
	// The writing goroutine is one of the network's: Network.Stop waits
	// for the queue to be written before the node closes its store.
	w := newWriter(o.Store.SetMany, o.Net.Bus().Publish, func(f func()) { o.Net.Go(func(context.Context) { f() }) }, lg)
	cs, err := newChanStore(o.Store, w, o.Identity.EnvelopeKey.Bytes())
	if err != nil {
		return nil, err
	}
	s := &Service{
		net: o.Net, st: cs, id: o.Identity, name: o.Name, peers: o.Peers,
		log: lg, pool: chanstate.NewPendingPool(4 * chanstate.DefaultMaxPending),
		chans: map[chanop.ID]*channel{}, wants: map[string]*rate.Limiter{}, fetching: map[string]bool{},
		wantRate: o.WantRate, wantBurst: o.WantBurst, mailbox: o.Mailbox,
	}
	if s.wantRate == 0 {
		s.wantRate, s.wantBurst = 50, 100
	}
	s.syncer, err = chansync.New(chansync.Config{Log: syncLog{s}, Allow: s.allow, Logger: s.log})
	if err != nil {
		return nil, err
	}
	if err := s.load(); err != nil {
		return nil, fmt.Errorf("loading channels from the store: %w", err)
	}
	s.register()
	s.registerMailbox()
	return s, nil
}

// load rebuilds the joined channels from the store.
func (s *Service) load() error {
	metas, err := s.st.joined()
	if err != nil {
		return err
	}
	for id, m := range metas {
		c := s.newChannel(id, m)
		if c.keys, err = s.st.keys(id); err != nil {
			return err
		}
		err := s.st.replay(id, func(seq uint64, raw []byte) error {
			c.seq = seq + 1
			op, err := chanop.Decode(raw)
			if err != nil {
				return fmt.Errorf("channel %s: stored op: %w", id, err)
			}
			if _, err := c.log.Add(op); err != nil {
				s.log.Warn("stored op refused on reload", "channel", id, "op", op.ID(), "error", err)
				return nil
			}
			s.unwrapLocked(c, op)
			return nil
		})
		if err != nil {
			return err
		}
		s.chans[id] = c
	}
	return nil
}

func (s *Service) newChannel(id chanop.ID, m meta) *channel {
	return &channel{id: id, log: chanstate.New(id, chanstate.Config{Pool: s.pool}), meta: m, keys: map[chanop.ID]chancrypt.Key{}}
}

// get returns a joined channel; s.mu is held.
func (s *Service) get(ch chanop.ID) (*channel, error) {
	c := s.chans[ch]
	if c == nil {
		return nil, fmt.Errorf("%w: %s (dpc channel list shows yours; an invite needs dpc channel accept first)", ErrUnknownChannel, ch)
	}
	return c, nil
}

// addLocked adds op (raw, as received) to c's log and queues its records
// for the store, and returns the ops it applied (op and those it
// unblocked) and the parents op still waits for. The channel.op events of
// the applied ops are published once their records are on disk. s.mu is
// held.
func (s *Service) addLocked(c *channel, op *chanop.Op, raw []byte) (applied []*chanop.Op, missing []chanop.ID, err error) {
	return s.applyLocked(c, op, raw, false)
}

// applyLocked is addLocked; with own (an op this node wrote) it returns
// once the records are on disk and leaves the events to the caller.
func (s *Service) applyLocked(c *channel, op *chanop.Op, raw []byte, own bool) (applied []*chanop.Op, missing []chanop.ID, err error) {
	res, err := c.log.Add(op)
	if err != nil {
		return nil, nil, err
	}
	var kvs []store.KV
	if res.Pending {
		if !res.Duplicate {
			kvs = append(kvs, opRecord(c.id, op.ID(), notApplied, raw))
		}
		for _, p := range op.Header.Parents {
			if !c.log.Has(p) {
				missing = append(missing, p)
			}
		}
		return nil, missing, s.st.w.enqueue(kvs, nil, own)
	}
	var events []network.Event
	for _, id := range res.Stored {
		o, r := op, raw
		if id != op.ID() {
			// An op that waited for this one: its bytes are in the store.
			if _, r, err = s.st.op(c.id, id); err == nil {
				o, err = chanop.Decode(r)
			}
			if err != nil {
				break
			}
		}
		kvs = appliedRecords(kvs, c.id, id, c.seq, r)
		c.seq++
		s.unwrapLocked(c, o)
		applied = append(applied, o)
		if !own {
			events = append(events, opEvent(c.id, o))
		}
	}
	if werr := s.st.w.enqueue(kvs, events, own); err == nil {
		err = werr
	}
	return applied, nil, err
}

// unwrapLocked takes the epoch key a control op wraps to this node, if any,
// and keeps it (sealed at rest in the store). s.mu is held.
func (s *Service) unwrapLocked(c *channel, op *chanop.Op) {
	me, priv := s.id.NodeID, s.id.EnvelopeKey
	var (
		epoch   chanop.ID
		wrapped []byte
		newEp   bool
	)
	switch b := op.Body.(type) {
	case chanop.CreateBody:
		if op.Header.Author == me {
			epoch, wrapped, newEp = op.ID(), b.WrappedKey, true
		}
	case chanop.AddBody:
		if b.Member == me {
			epoch, wrapped = b.Epoch, b.WrappedKey
		}
	case chanop.RemoveBody:
		epoch, wrapped, newEp = op.ID(), wrappedFor(b.Keys, me), true
	case chanop.RekeyBody:
		epoch, wrapped, newEp = op.ID(), wrappedFor(b.Keys, me), true
	}
	if wrapped == nil {
		return
	}
	if _, ok := c.keys[epoch]; ok {
		return
	}
	var (
		k   chancrypt.Key
		err error
	)
	if newEp {
		d := op.Header.Digest()
		k, err = chancrypt.UnwrapNewEpoch(wrapped, priv, d[:], me)
	} else {
		k, err = chancrypt.Unwrap(wrapped, priv, c.id[:], epoch[:], me)
	}
	if err != nil {
		s.log.Warn("a key wrapped to this node does not open", "channel", c.id, "op", op.ID(), "error", err)
		return
	}
	c.keys[epoch] = k
	if err := s.st.putKey(c.id, epoch, k); err != nil {
		s.log.Error("storing a channel key", "channel", c.id, "error", err)
	}
}

func wrappedFor(keys []chanop.WrappedFor, node string) []byte {
	for _, k := range keys {
		if k.Member == node {
			return k.WrappedKey
		}
	}
	return nil
}

// OpEvent is the data of a "channel.op" event: an op applied to a log.
type OpEvent struct {
	Channel string `json:"channel"`
	Op      string `json:"op"`
	Type    string `json:"type"`
	Author  string `json:"author"`
}

// publish sends a channel.op event per applied op.
func (s *Service) publish(ch chanop.ID, ops []*chanop.Op) {
	for _, op := range ops {
		s.net.Bus().Publish(opEvent(ch, op))
	}
}

func opEvent(ch chanop.ID, op *chanop.Op) network.Event {
	return network.Event{Type: "channel.op", Peer: op.Header.Author, Data: OpEvent{
		Channel: ch.String(), Op: op.ID().String(), Type: op.Header.Type.String(), Author: op.Header.Author,
	}}
}

// receive adds an op a peer sent (chansync's Log.Add); its channel.op
// events are published once it is on disk.
func (s *Service) receive(ch chanop.ID, raw []byte) (chanop.ID, []chanop.ID, error) {
	op, err := chanop.Decode(raw)
	if err != nil {
		return chanop.ID{}, nil, err
	}
	s.mu.Lock()
	c, err := s.get(ch)
	if err != nil {
		s.mu.Unlock()
		return op.ID(), nil, err
	}
	_, missing, err := s.addLocked(c, op, raw)
	s.mu.Unlock()
	return op.ID(), missing, err
}

// allow is chansync's Allow: peer is a member with read permission in the
// resolved state, or, while this node's log of the channel is still empty
// (an invite just accepted), the inviter it fetches the log from.
func (s *Service) allow(peer string, ch chansync.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chans[chanop.ID(ch)]
	if c == nil {
		return false
	}
	if c.log.Len() == 0 {
		return peer == c.meta.Inviter
	}
	return memberPerms(c.log.Control(), peer).Has(chanop.PermRead)
}

// memberPerms returns node's permissions in st (0 when not a member).
func memberPerms(st *chanstate.State, node string) chanop.Perm {
	for _, m := range st.Members {
		if m.NodeID == node {
			return m.Perms
		}
	}
	return 0
}

// keysOf returns node's certificate and envelope key: from its session
// (verified in its HELLO), else from its peer record (kept from its last one).
func (s *Service) keysOf(node string) (MemberKeys, error) {
	var mk MemberKeys
	var env []byte
	if sess := s.net.Session(node); sess != nil && sess.PeerEnvelopeKey != nil && sess.PeerCert != nil {
		mk.Cert, env, mk.Binding = sess.PeerCert.Raw, sess.PeerEnvelopeKey.Bytes(), sess.PeerEnvelopeBinding
	} else if p, err := s.peers.Get(node); err == nil && len(p.EnvelopeKey) != 0 {
		mk.Cert, env, mk.Binding = p.Certificate, p.EnvelopeKey, p.EnvelopeBinding
	}
	if len(env) != len(mk.EnvelopeKey) {
		return mk, fmt.Errorf("%w: %s has not had a session with this node that carried its envelope key (dpc connect it first; its node must be recent enough to send one)", ErrNoEnvelopeKey, node)
	}
	copy(mk.EnvelopeKey[:], env)
	return mk, nil
}

// now is the op time: the author's clock, informational only.
func now() int64 { return time.Now().UnixMilli() }

// envelopePub parses a member's X25519 key from the state.
func envelopePub(k [chanop.EnvelopeKeySize]byte) (*ecdh.PublicKey, error) {
	return ecdh.X25519().NewPublicKey(k[:])
}

// errOf maps chanop's argument errors to ErrBadArgument.
func errOf(err error) error {
	if errors.Is(err, chanop.ErrBadArgument) {
		return fmt.Errorf("%w: %w", ErrBadArgument, err)
	}
	return err
}
