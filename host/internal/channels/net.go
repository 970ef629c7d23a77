package channels

import (
	"context"
	"errors"
	"time"

	"golang.org/x/time/rate"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/channels/chansync"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/session"
)

// syncWait bounds one background sync or fetch with a peer.
const syncWait = 2 * time.Minute

// register registers the channel commands and hooks with the network.
func (s *Service) register() {
	r := s.net.Router()
	network.Handle(r, func(_ context.Context, sess *session.Session, p dptp.ChannelSync) error {
		return s.answer(sess, p)
	})
	network.Handle(r, func(_ context.Context, sess *session.Session, p dptp.ChannelWant) error {
		if !s.allowWant(sess.PeerID) {
			return sess.Send(dptp.CmdError, dptp.ErrorReply{RequestID: p.RequestID, RefusedCommand: dptp.CmdChannelWant,
				Code: dptp.CodeRateLimited, Message: "too many CHANNEL_WANT; slow down"})
		}
		return s.answer(sess, p)
	})
	network.AnswerOrHandle(s.net, func(_ context.Context, sess *session.Session, p dptp.ChannelOps) error {
		ch, err := chansync.ParseID(p.ChannelID)
		if err == nil && !(syncLog{s}).Known(ch) {
			s.invite(sess, p)
			return nil
		}
		return s.answer(sess, p)
	})
	network.Answer[dptp.ChannelSyncResponse](s.net)
	s.net.AddHooks(network.Hooks{Connected: func(sess *session.Session) {
		s.net.Go(func(ctx context.Context) { s.syncPeer(ctx, sess) })
	}})
}

// answer hands a channel payload to chansync, sends its reply and fetches
// the parents a push lacks from the sender, outside this frame-reading
// goroutine.
func (s *Service) answer(sess *session.Session, p dptp.Payload) error {
	reply, missing := s.syncer.Handle(sess.PeerID, p)
	if len(missing) > 0 {
		if ops, ok := p.(dptp.ChannelOps); ok {
			ch, _ := chansync.ParseID(ops.ChannelID)
			// One fetch per peer and channel at a time: pushes that keep
			// missing parents do not pile up goroutines.
			key := sess.PeerID + "/" + ops.ChannelID
			s.fetchMu.Lock()
			busy := s.fetching[key]
			s.fetching[key] = true
			s.fetchMu.Unlock()
			if busy {
				return s.reply(sess, reply)
			}
			s.net.Go(func(ctx context.Context) {
				defer func() {
					s.fetchMu.Lock()
					delete(s.fetching, key)
					s.fetchMu.Unlock()
				}()
				ctx, cancel := context.WithTimeout(ctx, syncWait)
				defer cancel()
				if _, err := s.syncer.Fetch(ctx, netPeer{s.net, sess}, ch, missing); err != nil {
					s.log.Debug("fetching missing parents", "peer", sess.PeerID, "channel", ch, "error", err)
				}
			})
		}
	}
	return s.reply(sess, reply)
}

func (s *Service) reply(sess *session.Session, reply dptp.Payload) error {
	if reply == nil {
		return nil
	}
	return sess.Send(reply.Command(), reply)
}

// wantLimiter is one peer's CHANNEL_WANT budget and when it last spent it.
type wantLimiter struct {
	lim  *rate.Limiter
	used time.Time
}

// minWantPrune is the size of the limiter map below which it is not pruned.
const minWantPrune = 64

// allowWant spends one of peer's CHANNEL_WANTs, if it has one left.
// Limiters of peers idle for longer than a full refill are dropped: such a
// limiter is full, the same as a new one, so dropping it forgives nothing,
// and the map holds only the peers that asked within one refill time.
func (s *Service) allowWant(peer string) bool {
	now := s.clock()
	s.wantMu.Lock()
	defer s.wantMu.Unlock()
	w := s.wants[peer]
	if w == nil {
		if len(s.wants) >= s.wantPruneAt {
			s.pruneWantsLocked(now)
		}
		w = &wantLimiter{lim: rate.NewLimiter(s.wantRate, s.wantBurst)}
		s.wants[peer] = w
	}
	w.used = now
	return w.lim.AllowN(now, 1)
}

// pruneWantsLocked drops the limiters idle for longer than a full refill;
// the next prune is when the map has doubled (amortized O(1) per peer).
func (s *Service) pruneWantsLocked(now time.Time) {
	refill := time.Duration(float64(s.wantBurst) / float64(s.wantRate) * float64(time.Second))
	for p, w := range s.wants {
		if now.Sub(w.used) > refill {
			delete(s.wants, p)
		}
	}
	s.wantPruneAt = max(minWantPrune, 2*len(s.wants))
}

// push sends ops this node wrote to every member of ch with a session, and
// through the mailbox to the others.
func (s *Service) push(ch chanop.ID, ops []*chanop.Op) {
	s.mu.Lock()
	c := s.chans[ch]
	var members []string
	if c != nil {
		for _, m := range c.log.Control().Members {
			if m.NodeID != s.id.NodeID {
				members = append(members, m.NodeID)
			}
		}
	}
	s.mu.Unlock()
	raw := make([][]byte, len(ops))
	for i, op := range ops {
		raw[i] = op.Encode()
	}
	s.mail(ch, s.sendOps(ch, members, raw), raw)
	// A removed member gets its remove too (and only that): it wraps the
	// new epoch's key to the others only, and tells the member it is out.
	for i, op := range ops {
		if b, ok := op.Body.(chanop.RemoveBody); ok && b.Target != s.id.NodeID {
			s.mail(ch, s.sendOps(ch, []string{b.Target}, raw[i:i+1]), raw[i:i+1])
		}
	}
}

// sendOps sends ops of ch to each of peers that has a session and returns
// the others.
func (s *Service) sendOps(ch chanop.ID, peers []string, raw [][]byte) (offline []string) {
	p := dptp.ChannelOps{ChannelID: ch.String(), Ops: raw}
	for _, m := range peers {
		if sess := s.net.Session(m); sess != nil {
			if err := sess.Send(dptp.CmdChannelOps, p); err != nil {
				s.log.Debug("pushing channel ops", "peer", m, "channel", ch, "error", err)
			}
		} else {
			offline = append(offline, m)
		}
	}
	return offline
}

// syncPeer syncs every channel peer may read with it (a new session).
func (s *Service) syncPeer(ctx context.Context, sess *session.Session) {
	s.mu.Lock()
	var chans []chanop.ID
	var invites []chanop.ID
	adds := map[chanop.ID]chanop.ID{}
	for id, c := range s.chans {
		if c.log.Len() == 0 && c.meta.Inviter == sess.PeerID {
			invites = append(invites, id)
			continue
		}
		if len(c.log.Removals(s.id.NodeID)) > 0 {
			continue // removed: nothing more to learn
		}
		for _, m := range c.log.Control().Members {
			if m.NodeID == sess.PeerID && m.Perms.Has(chanop.PermRead) {
				chans = append(chans, id)
				if m.AddedBy != id {
					adds[id] = m.AddedBy
				}
			}
		}
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, syncWait)
	defer cancel()
	p := netPeer{s.net, sess}
	// The add of a member that was offline when it was invited: pushed
	// again, it is the invite (a member that joined ignores the duplicate).
	for ch, add := range adds {
		if _, raw, err := s.st.op(ch, add); err == nil {
			if err := sess.Send(dptp.CmdChannelOps, dptp.ChannelOps{ChannelID: ch.String(), Ops: [][]byte{raw}}); err != nil {
				return
			}
		}
	}
	for _, id := range invites {
		if err := s.fetchInvite(ctx, p, id); err != nil {
			s.log.Debug("fetching an accepted channel", "peer", sess.PeerID, "channel", id, "error", err)
		}
	}
	for _, id := range chans {
		if _, err := s.syncer.Sync(ctx, p, chansync.ID(id)); err != nil {
			s.log.Debug("channel sync", "peer", sess.PeerID, "channel", id, "error", err)
		}
	}
}

// InviteEvent is the data of a "channel.invite" event.
type InviteEvent struct {
	Invite
	// Refused is set when the firewall refused the invite (it was not kept).
	Refused string `json:"refused,omitempty"`
}

// invite keeps an add op naming this node, pushed for a channel it has not
// joined, as a pending invite if the firewall allows the sender
// "channel_invites". Other ops of unknown channels are dropped.
func (s *Service) invite(sess *session.Session, p dptp.ChannelOps) {
	for _, raw := range p.Ops {
		op, err := chanop.Decode(raw)
		if err != nil {
			continue
		}
		b, ok := op.Body.(chanop.AddBody)
		if !ok || b.Member != s.id.NodeID || op.Header.Channel.String() != p.ChannelID {
			continue
		}
		in := Invite{Channel: p.ChannelID, From: sess.PeerID, FromName: sess.PeerName, Op: op.ID().String(),
			Perms: b.Perms.String(), Received: time.Now().UnixMilli()}
		if d := s.net.Check(sess.PeerID, "channel_invites"); !d.Allowed {
			s.log.Info("channel invite refused", "peer", sess.PeerID, "channel", p.ChannelID, "rule", d.Rule)
			s.net.Bus().Publish(network.Event{Type: "channel.invite", Peer: sess.PeerID, Data: InviteEvent{Invite: in, Refused: d.Rule}})
			continue
		}
		if err := s.st.putJSON(inviteKey(op.Header.Channel), in); err != nil {
			s.log.Error("storing a channel invite", "channel", p.ChannelID, "error", err)
			continue
		}
		s.log.Info("channel invite received", "peer", sess.PeerID, "channel", p.ChannelID)
		s.net.Bus().Publish(network.Event{Type: "channel.invite", Peer: sess.PeerID, Data: InviteEvent{Invite: in}})
	}
}

// netPeer is chansync's Peer over a session.
type netPeer struct {
	net  *network.Network
	sess *session.Session
}

func (p netPeer) NodeID() string { return p.sess.PeerID }

func (p netPeer) Request(ctx context.Context, pl dptp.Payload) (dptp.Payload, error) {
	// RequestIDOf knows answers; chansync's requests are these two.
	var id string
	switch r := pl.(type) {
	case dptp.ChannelSync:
		id = r.RequestID
	case dptp.ChannelWant:
		id = r.RequestID
	}
	var ans dptp.Payload
	err := p.net.RequestOn(ctx, p.sess, id, pl, func(a dptp.Payload) (bool, error) { ans = a; return true, nil })
	var pe *network.PeerError
	if errors.As(err, &pe) {
		return dptp.ErrorReply{RequestID: id, RefusedCommand: pl.Command(), Code: pe.Code, Message: pe.Message}, nil
	}
	return ans, err
}

func (p netPeer) Send(_ context.Context, pl dptp.Payload) error { return p.sess.Send(pl.Command(), pl) }

// syncLog is chansync's Log over the service's channels.
type syncLog struct{ s *Service }

func (l syncLog) of(ch chansync.ID) *channel { return l.s.chans[chanop.ID(ch)] }

func (l syncLog) Known(ch chansync.ID) bool {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return l.of(ch) != nil
}

func (l syncLog) Heads(ch chansync.ID) []chansync.ID {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	c := l.of(ch)
	if c == nil {
		return nil
	}
	hs := c.log.Heads()
	out := make([]chansync.ID, len(hs))
	for i, h := range hs {
		out[i] = chansync.ID(h)
	}
	return out
}

func (l syncLog) Count(ch chansync.ID) int {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if c := l.of(ch); c != nil {
		return c.log.Len()
	}
	return 0
}

func (l syncLog) Has(ch chansync.ID, id chansync.ID) bool {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	c := l.of(ch)
	return c != nil && c.log.Has(chanop.ID(id))
}

// held returns a held op's seq and bytes from the store.
func (l syncLog) held(ch, id chansync.ID) (uint64, []byte, bool) {
	l.s.mu.Lock()
	c := l.of(ch)
	ok := c != nil && c.log.Has(chanop.ID(id))
	l.s.mu.Unlock()
	if !ok {
		return 0, nil, false
	}
	seq, raw, err := l.s.st.op(chanop.ID(ch), chanop.ID(id))
	if err != nil || seq == notApplied {
		return 0, nil, false
	}
	return seq, raw, true
}

// Meta is read from the log in memory: sync walks visit many ops, and
// reading and decoding each from the store made walks the bulk of a sync.
// The log's insertion order is an order where parents come first, as the
// apply seq is.
func (l syncLog) Meta(ch chansync.ID, id chansync.ID) ([]chansync.ID, uint64, bool) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	c := l.of(ch)
	if c == nil {
		return nil, 0, false
	}
	parents, seq, ok := c.log.Meta(chanop.ID(id))
	if !ok {
		return nil, 0, false
	}
	ps := make([]chansync.ID, len(parents))
	for i, p := range parents {
		ps[i] = chansync.ID(p)
	}
	return ps, uint64(seq), true
}

func (l syncLog) Raw(ch chansync.ID, id chansync.ID) ([]byte, bool) {
	_, raw, ok := l.held(ch, id)
	return raw, ok
}

func (l syncLog) Add(ch chansync.ID, raw []byte) (chansync.ID, []chansync.ID, error) {
	id, missing, err := l.s.receive(chanop.ID(ch), raw)
	out := make([]chansync.ID, len(missing))
	for i, m := range missing {
		out[i] = chansync.ID(m)
	}
	return chansync.ID(id), out, err
}

// Batch is chansync's Batcher: the ops of one frame go in one write.
func (l syncLog) Batch() func() {
	l.s.st.w.hold()
	return l.s.st.w.release
}
