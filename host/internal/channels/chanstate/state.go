package chanstate

import (
	"bytes"
	"container/heap"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
)

// stateContext starts the bytes the state hash covers.
const stateContext = "dpc-channel-state/v1\x00"

// State is the resolved state of a channel: a pure function of the stored ops.
type State struct {
	Channel chanop.ID
	// Name is the name in the create op ("" before it arrived).
	Name    string
	Creator string
	// Members are the current members, sorted by node_id.
	Members []Member
	// Epochs are the valid key epochs in the control order; Current is the
	// last (zero before the create arrived).
	Epochs  []Epoch
	Current chanop.ID
	// CurrentExposed is set when the current epoch's key went to someone
	// who is not a member: the next writer must issue a rekey.
	CurrentExposed bool
	// Unkeyed lists the members (sorted) the current epoch's key was never
	// wrapped to (added concurrently with the op that introduced it): they
	// cannot read it, so the next writer must issue a rekey too. Not in the hash.
	Unkeyed  []string
	Closed   bool
	ClosedBy chanop.ID
	// Accepted lists every accepted op in display order.
	Accepted []chanop.ID
	// Posts are the accepted posts in display order, edits and redactions applied.
	Posts []Post
	// Refused lists the stored ops that are not accepted, in display order.
	Refused []Refusal
	// Pending and Evicted describe the pending buffer (not in the hash).
	Pending int
	Evicted uint64
	// Hash is SHA-256 over the canonical encoding of the resolved state
	// (proto/channels.md): equal on every replica with the same op set.
	Hash [32]byte
}

// Member is a current member.
type Member struct {
	NodeID string
	Perms  chanop.Perm
	// Seniority is 0 for the creator, then 1, 2... in the control order of
	// the adds that admitted members (removed members keep their number).
	Seniority   int
	EnvelopeKey [chanop.EnvelopeKeySize]byte
	// AddedBy is the op that admitted the member (the create for the creator).
	AddedBy chanop.ID
}

// Epoch is a valid key epoch.
type Epoch struct {
	ID chanop.ID
	// Exposed: the epoch's key was wrapped (in any stored op) to a node
	// that is not a member now.
	Exposed bool
}

// Post is an accepted post.
type Post struct {
	ID     chanop.ID
	Author string
	Time   int64
	// Text is the op whose sealed body is the post's current text: the
	// post itself or its latest accepted edit in display order (its header
	// names the epoch it is sealed with).
	Text     chanop.ID
	Edited   bool
	Redacted bool
}

// Refusal is a stored op that is not accepted, and why.
type Refusal struct {
	ID     chanop.ID
	Type   chanop.Type
	Author string
	Reason error
}

// State resolves (if needed) and returns the state. The result is cached
// until the next op is stored; callers must not modify it.
func (l *Log) State() *State {
	l.resolve()
	if l.state != nil {
		l.state.Pending, l.state.Evicted = len(l.pending), l.evicted
		return l.state
	}
	cs := *l.Control()
	st := &cs
	l.content(st)
	st.Hash = st.hash()
	l.state = st
	return st
}

// Control resolves (if needed) and returns the control part of the state:
// Channel, Name, Creator, Members, Epochs, Current, CurrentExposed,
// Unkeyed, Closed, ClosedBy, Pending and Evicted; Accepted, Posts, Refused
// and Hash are empty. It is cached until the next control op arrives: a
// node checking its permissions before each post pays for the control ops,
// not for the whole history as State does. Callers must not modify it.
func (l *Log) Control() *State {
	l.resolve()
	if l.ctl != nil {
		l.ctl.Pending, l.ctl.Evicted = len(l.pending), l.evicted
		return l.ctl
	}
	st := &State{Channel: l.channel, Pending: len(l.pending), Evicted: l.evicted}
	r := &l.res
	if l.creator != nil && r.final != nil {
		c := l.creator.x.op.Body.(chanop.CreateBody)
		st.Name, st.Creator = c.Name, l.creator.author
		f := r.final
		for _, e := range r.order {
			if !e.valid {
				continue
			}
			switch b := e.x.op.Body.(type) {
			case chanop.CreateBody:
				st.Members = append(st.Members, Member{NodeID: e.author, Perms: f.members[e.author], EnvelopeKey: b.EnvelopeKey, AddedBy: e.id})
			case chanop.AddBody:
				if p, ok := f.members[b.Member]; ok {
					st.Members = append(st.Members, Member{NodeID: b.Member, Perms: p, Seniority: r.sen[b.Member], EnvelopeKey: b.EnvelopeKey, AddedBy: e.id})
				}
			}
		}
		slices.SortFunc(st.Members, func(a, b Member) int { return strings.Compare(a.NodeID, b.NodeID) })
		if _, ok := f.members[st.Creator]; !ok {
			st.Members = slices.DeleteFunc(st.Members, func(m Member) bool { return m.NodeID == st.Creator })
		}
		exposed, recipients := l.epochRecipients(f)
		for _, e := range r.order {
			if e.valid && f.epochs.has(e.cidx) {
				st.Epochs = append(st.Epochs, Epoch{ID: e.id, Exposed: exposed[e]})
			}
		}
		if f.current != nil {
			st.Current, st.CurrentExposed = f.current.id, exposed[f.current]
			for _, m := range st.Members {
				if !recipients[f.current][m.NodeID] {
					st.Unkeyed = append(st.Unkeyed, m.NodeID)
				}
			}
		}
		if f.closed {
			st.Closed, st.ClosedBy = true, f.closer.id
		}
	}
	l.ctl = st
	return st
}

// content fills the content part of st: every stored op in display order.
func (l *Log) content(st *State) {
	order := l.displayOrder()
	posts := map[chanop.ID]int{}
	for _, e := range order {
		if !e.valid {
			st.Refused = append(st.Refused, Refusal{ID: e.id, Type: e.typ, Author: e.author, Reason: e.reason()})
			continue
		}
		st.Accepted = append(st.Accepted, e.id)
		if e.typ == chanop.TypePost {
			posts[e.id] = len(st.Posts)
			st.Posts = append(st.Posts, Post{ID: e.id, Author: e.author, Time: e.time, Text: e.id})
		}
	}
	// Edits and redactions after every post is placed: an accepted edit's
	// target is an accepted post, but not necessarily earlier in the order.
	for _, e := range order {
		if !e.valid || e.target() == nil {
			continue
		}
		p := &st.Posts[posts[*e.target()]]
		if e.typ == chanop.TypeEdit {
			p.Text, p.Edited = e.id, true
		} else {
			p.Redacted = true
		}
	}
}

// epochRecipients returns, per epoch, the nodes some stored op wrapped its
// key to, and marks the epochs one of them is not a member of the final
// state (exposed).
func (l *Log) epochRecipients(f *cstate) (exposed map[*entry]bool, to map[*entry]map[string]bool) {
	exposed, to = map[*entry]bool{}, map[*entry]map[string]bool{}
	mark := func(ep *entry, node string) {
		if ep == nil {
			return
		}
		if to[ep] == nil {
			to[ep] = map[string]bool{}
		}
		to[ep][node] = true
		if _, ok := f.members[node]; !ok {
			exposed[ep] = true
		}
	}
	for _, e := range l.control {
		switch b := e.x.op.Body.(type) {
		case chanop.CreateBody:
			mark(e, e.author)
		case chanop.AddBody:
			mark(e.epoch, b.Member)
		case chanop.RemoveBody:
			for _, k := range b.Keys {
				mark(e, k.Member)
			}
		case chanop.RekeyBody:
			for _, k := range b.Keys {
				mark(e, k.Member)
			}
		}
	}
	return exposed, to
}

// hash is SHA-256 over the canonical state encoding (proto/channels.md).
func (st *State) hash() [32]byte {
	h := sha256.New()
	var b []byte
	b = append(b, stateContext...)
	b = append(b, st.Channel[:]...)
	b = binary.AppendUvarint(b, uint64(len(st.Members)))
	for _, m := range st.Members {
		b = binary.AppendUvarint(b, uint64(len(m.NodeID)))
		b = append(b, m.NodeID...)
		b = append(b, byte(m.Perms))
		b = binary.AppendUvarint(b, uint64(m.Seniority))
	}
	b = binary.AppendUvarint(b, uint64(len(st.Epochs)))
	for _, e := range st.Epochs {
		b = append(b, e.ID[:]...)
		b = append(b, boolByte(e.Exposed))
	}
	b = append(b, st.Current[:]...)
	b = append(b, boolByte(st.Closed))
	b = binary.AppendUvarint(b, uint64(len(st.Accepted)))
	h.Write(b)
	for _, id := range st.Accepted {
		h.Write(id[:])
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func sortIDs(ids []chanop.ID) {
	slices.SortFunc(ids, func(a, b chanop.ID) int { return bytes.Compare(a[:], b[:]) })
}

// displayOrder is the deterministic topological order of every stored op
// (Kahn; ready ops by author time, then op id).
func (l *Log) displayOrder() []*entry {
	n := len(l.seq)
	need := make([]int32, n)
	children := make([][]int32, n)
	q := &readyHeap{}
	for _, e := range l.seq {
		need[e.seq] = int32(len(e.parents))
		for _, p := range e.parents {
			children[p.seq] = append(children[p.seq], int32(e.seq))
		}
		if len(e.parents) == 0 {
			q.items = append(q.items, e)
		}
	}
	heap.Init(q)
	out := make([]*entry, 0, n)
	for q.Len() > 0 {
		e := heap.Pop(q).(*entry)
		out = append(out, e)
		for _, c := range children[e.seq] {
			need[c]--
			if need[c] == 0 {
				heap.Push(q, l.seq[c])
			}
		}
	}
	return out
}

type readyHeap struct{ items []*entry }

func (h *readyHeap) Len() int { return len(h.items) }
func (h *readyHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if a.time != b.time {
		return a.time < b.time
	}
	return bytes.Compare(a.id[:], b.id[:]) < 0
}
func (h *readyHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *readyHeap) Push(x any)    { h.items = append(h.items, x.(*entry)) }
func (h *readyHeap) Pop() any {
	e := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return e
}
