package channels

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"slices"
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
	// MaxPending bounds the ops of one channel waiting for parents
	// (default chanstate.DefaultMaxPending).
	MaxPending int

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
	// maxPending bounds each channel's ops waiting for parents.
	maxPending int

	mu    sync.Mutex
	chans map[chanop.ID]*channel

	fetchMu  sync.Mutex
	fetching map[string]bool

	wantMu      sync.Mutex
	wants       map[string]*wantLimiter
	wantPruneAt int
	wantRate    rate.Limit
	wantBurst   int
	// clock is time.Now; tests move it.
	clock func() time.Time

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
		chans: map[chanop.ID]*channel{}, wants: map[string]*wantLimiter{}, wantPruneAt: minWantPrune, fetching: map[string]bool{}, clock: time.Now,
		wantRate: o.WantRate, wantBurst: o.WantBurst, mailbox: o.Mailbox, maxPending: o.MaxPending,
	}
	if s.wantRate == 0 {
		s.wantRate, s.wantBurst = 50, 100
	}
	s.syncer, err = chansync.New(chansync.Config{Log: syncLog{s}, Allow: s.allow, Past: s.removedPast, Logger: s.log})
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
		var bad []badKey
		if c.keys, bad, err = s.st.keys(id); err != nil {
			return err
		}
		for _, b := range bad {
			s.log.Error("a stored channel key does not open: this node cannot read the posts of its epoch unless the op that wrapped the key to it opens again (tried now)",
				"record", b.record, "channel", id, "error", b.err)
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
		if err := s.reloadWaiting(c); err != nil {
			return err
		}
		for _, b := range bad {
			if _, ok := c.keys[b.epoch]; ok {
				s.log.Info("channel key taken again from the op that wrapped it to this node; its record is rewritten", "record", b.record, "channel", id)
				continue
			}
			s.log.Error("channel key lost on this node: dpc channel log shows the posts of its epoch as unreadable; the rest of the channel works",
				"record", b.record, "channel", id)
		}
		s.chans[id] = c
	}
	return nil
}

// reloadWaiting puts the ops c had stored while they waited for parents
// back in its log's pending buffer, oldest (by author time) first, bounded
// as on receipt: the ones the buffer evicts, and the ones it refuses, are
// dropped from the store.
func (s *Service) reloadWaiting(c *channel) error {
	type waiting struct {
		op  *chanop.Op
		raw []byte
	}
	var ws []waiting
	err := s.st.waiting(c.id, func(id chanop.ID, raw []byte) error {
		op, err := chanop.Decode(raw)
		if err == nil && op.ID() != id {
			err = fmt.Errorf("%w: stored under another op id", errCorrupt)
		}
		if err != nil {
			s.log.Warn("an op stored while it waited for parents does not decode; dropped", "channel", c.id, "op", id, "error", err)
			return s.st.dropWaiting(c.id, []chanop.ID{id})
		}
		ws = append(ws, waiting{op, raw})
		return nil
	})
	if err != nil || len(ws) == 0 {
		return err
	}
	// The store holds them by id; the buffer evicts the first added.
	slices.SortFunc(ws, func(a, b waiting) int {
		if d := cmp.Compare(a.op.Header.Time, b.op.Header.Time); d != 0 {
			return d
		}
		ida, idb := a.op.ID(), b.op.ID()
		return bytes.Compare(ida[:], idb[:])
	})
	evicted := c.log.Evicted()
	for _, w := range ws {
		if _, _, err := s.addLocked(c, w.op, w.raw); err != nil {
			s.log.Warn("an op stored while it waited for parents is refused; dropped", "channel", c.id, "op", w.op.ID(), "error", err)
			if err := s.st.dropWaiting(c.id, []chanop.ID{w.op.ID()}); err != nil {
				return err
			}
		}
	}
	s.log.Info("ops waiting for parents reloaded", "channel", c.id, "stored", len(ws), "pending", c.log.PendingLen(), "evicted", c.log.Evicted()-evicted)
	return nil
}

func (s *Service) newChannel(id chanop.ID, m meta) *channel {
	return &channel{id: id, log: chanstate.New(id, chanstate.Config{Pool: s.pool, MaxPending: s.maxPending}), meta: m, keys: map[chanop.ID]chancrypt.Key{}}
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
	if derr := s.st.dropWaiting(c.id, res.Evicted); derr != nil {
		s.log.Error("dropping evicted waiting ops from the store", "channel", c.id, "error", derr)
	}
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

// removedPast is chansync's Past: a removed member is served the ops up to
// and including the removes that removed it, nothing after, so that it
// learns its removal (proto/channels.md, "Removed members").
func (s *Service) removedPast(peer string, ch chansync.ID) ([]chansync.ID, func(chansync.ID) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chans[chanop.ID(ch)]
	if c == nil {
		return nil, nil
	}
	rs := c.log.Removals(peer)
	if len(rs) == 0 {
		return nil, nil
	}
	heads := make([]chansync.ID, len(rs))
	for i, r := range rs {
		heads[i] = chansync.ID(r)
	}
	return heads, func(id chansync.ID) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, r := range rs {
			if c.log.InPast(chanop.ID(id), r) {
				return true
			}
		}
		return false
	}
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
