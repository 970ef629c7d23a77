package channels

import (
	"context"
	"crypto/ecdh"
	"fmt"
	"slices"
	"strings"

	"github.com/dpc-go/dpc/host/internal/channels/chancrypt"
	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/channels/chanstate"
	"github.com/dpc-go/dpc/host/internal/channels/chansync"
	"github.com/dpc-go/dpc/host/internal/network"
)

// DefaultInvitePerms are what an invite grants when none are given.
const DefaultInvitePerms = chanop.PermRead | chanop.PermWrite

// ParsePerm parses a permission name (read, write, invite, remove, close,
// admin, all).
func ParsePerm(name string) (chanop.Perm, error) {
	for i, n := range []string{"read", "write", "invite", "remove", "close", "admin"} {
		if name == n {
			return chanop.Perm(1 << i), nil
		}
	}
	if name == "all" {
		return chanop.PermAll, nil
	}
	return 0, fmt.Errorf("%w: permission %q (valid: read, write, invite, remove, close, admin, all)", ErrBadArgument, name)
}

// ParseChannel parses a channel id.
func ParseChannel(s string) (chanop.ID, error) {
	id, err := chanop.ParseID(s)
	if err != nil {
		return id, fmt.Errorf("%w: channel id %q: %w (the 64 hex characters dpc channel create printed)", ErrBadArgument, s, err)
	}
	return id, nil
}

// writeLocked adds an op this node built to c, checks it was accepted and
// returns what it applied; s.mu is held.
func (s *Service) writeLocked(c *channel, op *chanop.Op) ([]*chanop.Op, error) {
	applied, _, err := s.applyLocked(c, op, op.Encode(), true)
	if err != nil {
		return applied, err
	}
	if _, ok, reason := c.log.Status(op.ID()); !ok {
		return applied, fmt.Errorf("%w: %s: %v", ErrRefused, op.Header.Type, reason)
	}
	return applied, nil
}

// done publishes applied ops and pushes the ops this node wrote to every
// member with a session.
func (s *Service) done(ch chanop.ID, applied []*chanop.Op, mine ...*chanop.Op) {
	s.publish(ch, applied)
	if len(mine) > 0 {
		s.push(ch, mine)
	}
}

// Create creates a channel named name with this node as its creator and
// returns its id.
func (s *Service) Create(name string) (chanop.ID, error) {
	key := chancrypt.NewKey()
	d, err := chanop.NewDraft(chanop.TypeCreate, chanop.ID{}, nil, s.id.NodeID, chanop.ID{}, now())
	if err != nil {
		return chanop.ID{}, errOf(err)
	}
	dg := d.Digest()
	w, err := chancrypt.WrapNewEpoch(key, s.id.EnvelopeKey.PublicKey(), dg[:], s.id.NodeID)
	if err != nil {
		return chanop.ID{}, err
	}
	var env [chanop.EnvelopeKeySize]byte
	copy(env[:], s.id.EnvelopeKey.PublicKey().Bytes())
	op, err := d.Sign(s.id.Signer, chanop.CreateBody{Name: name, Cert: s.id.Certificate.Raw, EnvelopeKey: env,
		Binding: s.id.EnvelopeBinding, WrappedKey: w})
	if err != nil {
		return chanop.ID{}, errOf(err)
	}
	id := op.ID()
	m := meta{Joined: true}
	s.mu.Lock()
	if err := s.st.putJSON(metaKey(id), m); err != nil {
		s.mu.Unlock()
		return id, err
	}
	c := s.newChannel(id, m)
	s.chans[id] = c
	applied, err := s.writeLocked(c, op)
	s.mu.Unlock()
	s.done(id, applied)
	return id, err
}

// mine returns ch and its state after checking this node holds need there; s.mu is held.
func (s *Service) mine(ch chanop.ID, need chanop.Perm) (*channel, *chanstate.State, error) {
	c, err := s.get(ch)
	if err != nil {
		return nil, nil, err
	}
	st := c.log.Control()
	if st.Closed {
		return nil, nil, fmt.Errorf("%w: %s", ErrClosed, ch)
	}
	p := memberPerms(st, s.id.NodeID)
	if p == 0 {
		if by, ok := s.removedLocked(c); ok {
			if by == "" {
				return nil, nil, fmt.Errorf("you left channel %q (%s); this node keeps the posts from before (dpc channel log) and sees nothing after; a node that left cannot be added again: %w",
					st.Name, ch, ErrRemoved)
			}
			return nil, nil, fmt.Errorf("you were removed from channel %q (%s) by %s; this node keeps the posts from before its removal (dpc channel log) and sees nothing after; a removed node cannot be added again, ask a member to invite you to a new channel: %w",
				st.Name, ch, by, ErrRemoved)
		}
		return nil, nil, fmt.Errorf("%w: this node (%s) in %s", ErrNotMember, s.id.NodeID, ch)
	}
	if !p.Has(need) {
		return nil, nil, fmt.Errorf("%w: needs %s, this node holds %s", ErrNoPermission, need, p)
	}
	return c, st, nil
}

// removedLocked tells whether this node was removed from c, and by whom
// ("name (node_id)"; "" when it left). s.mu is held.
func (s *Service) removedLocked(c *channel) (by string, ok bool) {
	rs := c.log.Removals(s.id.NodeID)
	if len(rs) == 0 {
		return "", false
	}
	_, raw, err := s.st.op(c.id, rs[0])
	var op *chanop.Op
	if err == nil {
		op, err = chanop.Decode(raw)
	}
	if err != nil {
		return "a member (its remove op " + rs[0].String() + " does not read back: " + err.Error() + ")", true
	}
	author := op.Header.Author
	if author == s.id.NodeID {
		return "", true
	}
	if name := s.nameOf(author); name != "" {
		return name + " (" + author + ")", true
	}
	return author, true
}

// Invite adds node to ch with perms (DefaultInvitePerms if 0), wrapping
// the current epoch key to its envelope key.
func (s *Service) Invite(ch chanop.ID, node string, perms chanop.Perm) error {
	if perms == 0 {
		perms = DefaultInvitePerms
	}
	mk, err := s.keysOf(node)
	if err != nil {
		return err
	}
	if _, err := chanop.MemberKey(node, mk.Cert, mk.EnvelopeKey, mk.Binding); err != nil {
		return fmt.Errorf("invite %s: %w", node, err)
	}
	pub, err := envelopePub(mk.EnvelopeKey)
	if err != nil {
		return fmt.Errorf("invite %s: %w: %w", node, ErrNoEnvelopeKey, err)
	}
	s.mu.Lock()
	c, st, err := s.mine(ch, chanop.PermInvite)
	var applied, mine []*chanop.Op
	if err == nil {
		applied, mine, err = s.inviteLocked(c, st, node, perms, mk, pub)
	}
	s.mu.Unlock()
	s.done(ch, applied, mine...)
	return err
}

func (s *Service) inviteLocked(c *channel, st *chanstate.State, node string, perms chanop.Perm, mk MemberKeys, pub *ecdh.PublicKey) (applied, mine []*chanop.Op, err error) {
	if memberPerms(st, node) != 0 {
		return nil, nil, fmt.Errorf("%w: %s is already a member", ErrBadArgument, node)
	}
	applied, mine, st, err = s.freshEpochLocked(c, st)
	if err != nil {
		return applied, mine, err
	}
	key, ok := c.keys[st.Current]
	if !ok {
		return applied, mine, fmt.Errorf("%w: %s", ErrNoKey, c.id)
	}
	w, err := chancrypt.Wrap(key, pub, c.id[:], st.Current[:], node)
	if err != nil {
		return applied, mine, err
	}
	op, err := chanop.Build(s.id.Signer, s.id.NodeID, c.id, c.log.Heads(), chanop.ID{}, now(), chanop.AddBody{
		Member: node, Cert: mk.Cert, EnvelopeKey: mk.EnvelopeKey, Binding: mk.Binding, Perms: perms, Epoch: st.Current, WrappedKey: w})
	if err != nil {
		return applied, mine, errOf(err)
	}
	a, err := s.writeLocked(c, op)
	return append(applied, a...), append(mine, op), err
}

// freshEpochLocked issues a rekey when the current epoch's key went to a
// non-member or misses a member, and returns the state after it.
func (s *Service) freshEpochLocked(c *channel, st *chanstate.State) (applied, mine []*chanop.Op, _ *chanstate.State, err error) {
	if !st.CurrentExposed && len(st.Unkeyed) == 0 {
		return nil, nil, st, nil
	}
	op, err := s.newEpochOp(c, st.Members, "", func(keys []chanop.WrappedFor) chanop.Body { return chanop.RekeyBody{Keys: keys} })
	if err != nil {
		return nil, nil, st, err
	}
	applied, err = s.writeLocked(c, op)
	return applied, []*chanop.Op{op}, c.log.Control(), err
}

// newEpochOp builds a remove or rekey: a new epoch key wrapped to every
// member but skip.
func (s *Service) newEpochOp(c *channel, members []chanstate.Member, skip string, body func([]chanop.WrappedFor) chanop.Body) (*chanop.Op, error) {
	key := chancrypt.NewKey()
	t := body(nil).Type()
	d, err := chanop.NewDraft(t, c.id, c.log.Heads(), s.id.NodeID, chanop.ID{}, now())
	if err != nil {
		return nil, errOf(err)
	}
	dg := d.Digest()
	var keys []chanop.WrappedFor
	for _, m := range members { // sorted by node_id
		if m.NodeID == skip {
			continue
		}
		pub, err := envelopePub(m.EnvelopeKey)
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", m.NodeID, err)
		}
		w, err := chancrypt.WrapNewEpoch(key, pub, dg[:], m.NodeID)
		if err != nil {
			return nil, err
		}
		keys = append(keys, chanop.WrappedFor{Member: m.NodeID, WrappedKey: w})
	}
	op, err := d.Sign(s.id.Signer, body(keys))
	return op, errOf(err)
}

// Remove removes node from ch and starts a new key epoch wrapped to every
// remaining member.
func (s *Service) Remove(ch chanop.ID, node string) error {
	s.mu.Lock()
	var applied, mine []*chanop.Op
	need := chanop.PermRemove
	if node == s.id.NodeID {
		need = 0 // leaving
	}
	c, st, err := s.mine(ch, need)
	if err == nil && memberPerms(st, node) == 0 {
		err = fmt.Errorf("%w: %s in %s", ErrNotMember, node, ch)
	}
	if err == nil {
		var op *chanop.Op
		op, err = s.newEpochOp(c, st.Members, node, func(keys []chanop.WrappedFor) chanop.Body {
			return chanop.RemoveBody{Target: node, Keys: keys}
		})
		if err == nil {
			applied, err = s.writeLocked(c, op)
			mine = append(mine, op)
		}
	}
	s.mu.Unlock()
	s.done(ch, applied, mine...)
	return err
}

// Grant sets node's permissions in ch.
func (s *Service) Grant(ch chanop.ID, node string, perms chanop.Perm) error {
	return s.control(ch, chanop.PermAdmin, chanop.GrantBody{Target: node, Perms: perms})
}

// Close closes ch: no op after it is accepted.
func (s *Service) Close(ch chanop.ID) error {
	return s.control(ch, chanop.PermClose, chanop.CloseBody{})
}

func (s *Service) control(ch chanop.ID, need chanop.Perm, body chanop.Body) error {
	s.mu.Lock()
	var applied, mine []*chanop.Op
	c, _, err := s.mine(ch, need)
	if err == nil {
		var op *chanop.Op
		if op, err = chanop.Build(s.id.Signer, s.id.NodeID, ch, c.log.Heads(), chanop.ID{}, now(), body); err != nil {
			err = errOf(err)
		} else {
			applied, err = s.writeLocked(c, op)
			mine = append(mine, op)
		}
	}
	s.mu.Unlock()
	s.done(ch, applied, mine...)
	return err
}

// Post seals text with the current epoch key (issuing a rekey first when
// that key is exposed) and posts it; it returns the post's id.
func (s *Service) Post(ch chanop.ID, text string) (chanop.ID, error) {
	if text == "" {
		return chanop.ID{}, fmt.Errorf("%w: empty text", ErrBadArgument)
	}
	s.mu.Lock()
	var applied, mine []*chanop.Op
	var id chanop.ID
	c, st, err := s.mine(ch, chanop.PermWrite)
	if err == nil {
		applied, mine, st, err = s.freshEpochLocked(c, st)
	}
	if err == nil {
		var op *chanop.Op
		op, err = s.sealPost(c, st.Current, text)
		if err == nil {
			var a []*chanop.Op
			a, err = s.writeLocked(c, op)
			applied, mine, id = append(applied, a...), append(mine, op), op.ID()
		}
	}
	s.mu.Unlock()
	s.done(ch, applied, mine...)
	return id, err
}

func (s *Service) sealPost(c *channel, epoch chanop.ID, text string) (*chanop.Op, error) {
	key, ok := c.keys[epoch]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoKey, c.id)
	}
	d, err := chanop.NewDraft(chanop.TypePost, c.id, c.log.Heads(), s.id.NodeID, epoch, now())
	if err != nil {
		return nil, errOf(err)
	}
	dg := d.Digest()
	sealed, err := chancrypt.Seal(key, c.id[:], epoch[:], dg[:], []byte(text))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadArgument, err)
	}
	op, err := d.Sign(s.id.Signer, chanop.PostBody{Sealed: sealed})
	return op, errOf(err)
}

// Post is a post as `dpc channel log` shows it.
type Post struct {
	ID         string `json:"id"`
	Author     string `json:"author"`
	AuthorName string `json:"author_name,omitempty"`
	TimeMs     int64  `json:"time_ms"`
	Text       string `json:"text"`
	Edited     bool   `json:"edited,omitempty"`
	Redacted   bool   `json:"redacted,omitempty"`
	// Unreadable says why the text could not be opened (no key of its epoch).
	Unreadable string `json:"unreadable,omitempty"`
}

// Log returns the last limit posts of ch in display order (all when
// limit <= 0), decrypted; texts are read from the store.
func (s *Service) Log(ch chanop.ID, limit int) ([]Post, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.get(ch)
	if err != nil {
		return nil, err
	}
	posts := c.log.State().Posts
	if limit > 0 && len(posts) > limit {
		posts = posts[len(posts)-limit:]
	}
	out := make([]Post, 0, len(posts))
	for _, p := range posts {
		e := Post{ID: p.ID.String(), Author: p.Author, AuthorName: s.nameOf(p.Author), TimeMs: p.Time, Edited: p.Edited, Redacted: p.Redacted}
		if !p.Redacted {
			e.Text, err = s.open(c, p.Text)
			if err != nil {
				e.Unreadable = err.Error()
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// open reads a post or edit from the store and opens its text.
func (s *Service) open(c *channel, id chanop.ID) (string, error) {
	_, raw, err := s.st.op(c.id, id)
	if err != nil {
		return "", err
	}
	op, err := chanop.Decode(raw)
	if err != nil {
		return "", err
	}
	var sealed []byte
	switch b := op.Body.(type) {
	case chanop.PostBody:
		sealed = b.Sealed
	case chanop.EditBody:
		sealed = b.Sealed
	}
	key, ok := c.keys[op.Header.Epoch]
	if !ok {
		return "", fmt.Errorf("%w: this node holds no key of epoch %s", ErrNoKey, op.Header.Epoch)
	}
	dg := op.Header.Digest()
	pt, err := chancrypt.Open(key, c.id[:], op.Header.Epoch[:], dg[:], sealed)
	return string(pt), err
}

func (s *Service) nameOf(node string) string {
	if node == s.id.NodeID {
		return s.name
	}
	if s.peers != nil {
		if p, err := s.peers.Get(node); err == nil {
			return p.Name
		}
	}
	return ""
}

// Member is a member as `dpc channel members` shows it.
type Member struct {
	NodeID    string `json:"node_id"`
	Name      string `json:"name,omitempty"`
	Perms     string `json:"perms"`
	Seniority int    `json:"seniority"`
}

// Members returns ch's current members, sorted by node_id.
func (s *Service) Members(ch chanop.ID) ([]Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.get(ch)
	if err != nil {
		return nil, err
	}
	var out []Member
	for _, m := range c.log.Control().Members {
		out = append(out, Member{NodeID: m.NodeID, Name: s.nameOf(m.NodeID), Perms: m.Perms.String(), Seniority: m.Seniority})
	}
	return out, nil
}

// State is a channel's resolved state as `dpc channel state` shows it.
type State struct {
	Channel        string `json:"channel"`
	Name           string `json:"name"`
	Members        int    `json:"members"`
	Epochs         int    `json:"epochs"`
	CurrentExposed bool   `json:"current_exposed,omitempty"`
	Closed         bool   `json:"closed"`
	Accepted       int    `json:"accepted"`
	Refused        int    `json:"refused"`
	Pending        int    `json:"pending"`
	Posts          int    `json:"posts"`
	// Removed says, on a node removed from the channel, by whom ("you
	// left" when it left).
	Removed string `json:"removed,omitempty"`
	// Hash is the state hash: equal on every member holding the same ops.
	Hash string `json:"hash"`
}

// StateOf returns ch's resolved state.
func (s *Service) StateOf(ch chanop.ID) (State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.get(ch)
	if err != nil {
		return State{}, err
	}
	st := c.log.State()
	out := State{Channel: ch.String(), Name: st.Name, Members: len(st.Members), Epochs: len(st.Epochs), CurrentExposed: st.CurrentExposed,
		Closed: st.Closed, Accepted: len(st.Accepted), Refused: len(st.Refused), Pending: st.Pending, Posts: len(st.Posts),
		Hash: fmt.Sprintf("%x", st.Hash)}
	if by, ok := s.removedLocked(c); ok {
		out.Removed = "you left"
		if by != "" {
			out.Removed = "by " + by
		}
	}
	return out, nil
}

// List returns every joined channel's state, by name then id.
func (s *Service) List() []State {
	s.mu.Lock()
	ids := make([]chanop.ID, 0, len(s.chans))
	for id := range s.chans {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	var out []State
	for _, id := range ids {
		if st, err := s.StateOf(id); err == nil {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b State) int {
		if a.Name != b.Name {
			return strings.Compare(a.Name, b.Name)
		}
		return strings.Compare(a.Channel, b.Channel)
	})
	return out
}

// Invites returns the invites received and not accepted.
func (s *Service) Invites() ([]Invite, error) { return s.st.invites() }

// Accept joins ch from its pending invite and fetches its log from the
// inviter (when it is online; otherwise on its next session).
func (s *Service) Accept(ctx context.Context, ch chanop.ID) error {
	var in Invite
	s.mu.Lock()
	found, err := s.st.getJSON(inviteKey(ch), &in)
	if err == nil && !found {
		err = fmt.Errorf("%w: %s (dpc channel invites lists them)", ErrNoInvite, ch)
	}
	if err == nil && s.chans[ch] == nil {
		m := meta{Joined: true, Inviter: in.From, InviteOp: in.Op}
		if err = s.st.putJSON(metaKey(ch), m); err == nil {
			s.chans[ch] = s.newChannel(ch, m)
		}
	}
	if err == nil {
		err = s.st.st.Delete(inviteKey(ch))
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	sess := s.net.Session(in.From)
	if sess == nil {
		return fmt.Errorf("joined %s, but %w: %s, who invited this node; its log is fetched when it connects", ch, network.ErrPeerOffline, in.From)
	}
	return s.fetchInvite(ctx, netPeer{s.net, sess}, ch)
}

// fetchInvite fetches a just-accepted channel's log from the inviter, then
// syncs with every other online member.
func (s *Service) fetchInvite(ctx context.Context, p chansync.Peer, ch chanop.ID) error {
	s.mu.Lock()
	c := s.chans[ch]
	op, err := chanop.ParseID(c.meta.InviteOp)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("channel %s invite op: %w", ch, errCorrupt)
	}
	if _, err := s.syncer.Fetch(ctx, p, chansync.ID(ch), []chansync.ID{chansync.ID(op)}); err != nil {
		return fmt.Errorf("fetching channel %s from %s: %w", ch, p.NodeID(), err)
	}
	_, err = s.Sync(ctx, ch)
	return err
}

// SyncResult is one peer's outcome of a sync round.
type SyncResult struct {
	Peer  string `json:"peer"`
	Error string `json:"error,omitempty"`
}

// Sync runs a chansync round with every online member of ch; each peer's
// failure (a member that removed this node refuses) is in its result.
func (s *Service) Sync(ctx context.Context, ch chanop.ID) ([]SyncResult, error) {
	s.mu.Lock()
	c, err := s.get(ch)
	var members []string
	if err == nil {
		for _, m := range c.log.Control().Members {
			if m.NodeID != s.id.NodeID {
				members = append(members, m.NodeID)
			}
		}
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var out []SyncResult
	for _, m := range members {
		sess := s.net.Session(m)
		if sess == nil {
			continue
		}
		r := SyncResult{Peer: m}
		if _, err := s.syncer.Sync(ctx, netPeer{s.net, sess}, chansync.ID(ch)); err != nil {
			r.Error = err.Error()
		}
		out = append(out, r)
	}
	return out, nil
}
