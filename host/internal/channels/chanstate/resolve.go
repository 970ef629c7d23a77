package chanstate

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
)

// cstate is the control state of a set of valid control ops, applied in
// the control order.
type cstate struct {
	creator string
	members map[string]chanop.Perm
	ever    map[string]bool
	closed  bool
	closer  *entry
	epochs  bitset // key-introducing ops (by control index)
	current *entry
}

// apply applies the effect of a valid control op.
func (s *cstate) apply(e *entry) {
	switch b := e.x.op.Body.(type) {
	case chanop.CreateBody:
		s.creator = e.author
		s.members[e.author] = chanop.PermAll
		s.ever[e.author] = true
		s.addEpoch(e)
	case chanop.AddBody:
		s.members[b.Member] = b.Perms
		s.ever[b.Member] = true
	case chanop.RemoveBody:
		delete(s.members, b.Target)
		s.addEpoch(e)
	case chanop.RekeyBody:
		s.addEpoch(e)
	case chanop.GrantBody:
		s.members[b.Target] = b.Perms
	case chanop.CloseBody:
		if !s.closed {
			s.closed, s.closer = true, e
		}
	}
}

func (s *cstate) addEpoch(e *entry) {
	s.epochs = s.epochs.with(e.cidx)
	s.current = e
}

// resolution holds the result of resolving the control ops.
type resolution struct {
	gen    uint64
	order  []*entry // control ops in the control order
	sen    map[string]int
	final  *cstate
	closes []*entry            // valid closes
	restr  map[string][]*entry // valid removes and grants by target
}

// permCheck is the part of authorization a restriction can take away: the
// permissions op e needs, given its author holds p.
func permCheck(p chanop.Perm, e *entry) error {
	switch e.typ {
	case chanop.TypeAdd:
		b := e.x.op.Body.(chanop.AddBody)
		if !p.Has(chanop.PermInvite) {
			return fmt.Errorf("%w: add needs invite", ErrNoPermission)
		}
		if !p.Has(b.Perms) {
			return fmt.Errorf("%w: grants %s, holds %s", ErrBeyondGrant, b.Perms, p)
		}
	case chanop.TypeRemove:
		if b := e.x.op.Body.(chanop.RemoveBody); b.Target != e.author && !p.Has(chanop.PermRemove) {
			return fmt.Errorf("%w: remove needs remove", ErrNoPermission)
		}
	case chanop.TypeGrant:
		if !p.Has(chanop.PermAdmin) {
			return fmt.Errorf("%w: grant needs admin", ErrNoPermission)
		}
		if b := e.x.op.Body.(chanop.GrantBody); !p.Has(b.Perms) {
			return fmt.Errorf("%w: grants %s, holds %s", ErrBeyondGrant, b.Perms, p)
		}
	case chanop.TypeClose:
		if !p.Has(chanop.PermClose) {
			return fmt.Errorf("%w: close needs close", ErrNoPermission)
		}
	case chanop.TypePost, chanop.TypeEdit:
		if !p.Has(chanop.PermWrite) {
			return fmt.Errorf("%w: %s needs write", ErrNoPermission, e.typ)
		}
	}
	return nil
}

// authorize checks e against the state s of its causal past (rule 1).
func authorize(s *cstate, e *entry) error {
	if e.typ == chanop.TypeCreate {
		return nil
	}
	if s.closed {
		return ErrClosed
	}
	p, ok := s.members[e.author]
	if !ok {
		return ErrNotMember
	}
	if err := permCheck(p, e); err != nil {
		return err
	}
	switch e.typ {
	case chanop.TypeAdd:
		b := e.x.op.Body.(chanop.AddBody)
		if e.x.ctl.precheck != nil {
			return e.x.ctl.precheck
		}
		if s.ever[b.Member] {
			return ErrReAdd
		}
		if e.epoch == nil || !s.epochs.has(e.epoch.cidx) {
			return ErrEpoch
		}
	case chanop.TypeRemove:
		b := e.x.op.Body.(chanop.RemoveBody)
		if b.Target != e.author && b.Target == s.creator {
			return ErrCreator
		}
		if _, ok := s.members[b.Target]; !ok {
			return fmt.Errorf("%w: %s is not a member", ErrTarget, b.Target)
		}
		if !keysMatch(b.Keys, s.members, b.Target) {
			return ErrKeyList
		}
	case chanop.TypeRekey:
		if !keysMatch(e.x.op.Body.(chanop.RekeyBody).Keys, s.members, "") {
			return ErrKeyList
		}
	case chanop.TypeGrant:
		b := e.x.op.Body.(chanop.GrantBody)
		if b.Target == s.creator {
			return ErrCreator
		}
		if _, ok := s.members[b.Target]; !ok {
			return fmt.Errorf("%w: %s is not a member", ErrTarget, b.Target)
		}
	case chanop.TypePost, chanop.TypeEdit:
		if e.epoch == nil || !s.epochs.has(e.epoch.cidx) {
			return ErrEpoch
		}
	}
	return nil
}

// keysMatch reports whether keys go to exactly the members except skip.
func keysMatch(keys []chanop.WrappedFor, members map[string]chanop.Perm, skip string) bool {
	n := len(members)
	if _, ok := members[skip]; ok {
		n--
	}
	if len(keys) != n {
		return false
	}
	for _, k := range keys {
		if _, ok := members[k.Member]; !ok || k.Member == skip {
			return false
		}
	}
	return true
}

// forbids reports whether the valid restriction r, applied to the state of
// op e's causal past, would take away a permission e needs (rule 2).
func forbids(r, e *entry) bool {
	switch b := r.x.op.Body.(type) {
	case chanop.CloseBody:
		return true
	case chanop.RemoveBody:
		return b.Target == e.author
	case chanop.GrantBody:
		return b.Target == e.author && permCheck(b.Perms, e) != nil
	}
	return false
}

// restriction reports whether e can forbid concurrent ops.
func restriction(e *entry) bool {
	return e.typ == chanop.TypeRemove || e.typ == chanop.TypeGrant || e.typ == chanop.TypeClose
}

// concurrent reports whether control ops a and b are concurrent.
func concurrent(a, b *entry) bool {
	return a != b && !a.past.set.has(b.cidx) && !b.past.set.has(a.cidx)
}

// outranks reports whether a comes before b in the deterministic order that
// breaks cycles: seniority of the author, then op id.
func (r *resolution) outranks(a, b *entry) bool {
	sa, sb := r.sen[a.author], r.sen[b.author]
	if sa != sb {
		return sa < sb
	}
	return bytes.Compare(a.id[:], b.id[:]) < 0
}

// kills reports whether valid restriction r refuses the concurrent op e:
// r forbids e, unless e forbids r too and e outranks r (rule 3).
func (r *resolution) kills(rst, e *entry) bool {
	if !forbids(rst, e) {
		return false
	}
	if e.cidx >= 0 && restriction(e) && forbids(e, rst) && r.outranks(e, rst) {
		return false
	}
	return true
}

// killReason is why restriction r refuses op x. A close that loses to a
// concurrent close is a no-op (the channel is closed once), not a fault.
func killReason(r, x *entry) error {
	switch {
	case r.typ == chanop.TypeClose && x.typ == chanop.TypeClose:
		return fmt.Errorf("%w: %s", ErrAlreadyClosed, r.id)
	case r.typ == chanop.TypeClose:
		return fmt.Errorf("%w: close %s", ErrRestricted, r.id)
	}
	return fmt.Errorf("%w: %s %s by %s", ErrRestricted, r.typ, r.id, r.author)
}

// resolve recomputes everything after a control op arrived.
func (l *Log) resolve() {
	if !l.dirty {
		return
	}
	l.dirty = false
	l.state, l.ctl = nil, nil
	r := &l.res
	r.order = l.controlOrder()
	for i, e := range r.order {
		e.x.ctl.tpos = i
	}
	// Fixpoint: ops refused by a valid concurrent restriction placed later
	// in the order are forced out and the pass repeated. forced only grows,
	// so this ends within len(order) passes (proto/channels.md §6).
	forced := map[*entry]error{}
	for {
		l.pass(forced)
		grew := false
		for _, x := range r.order {
			if !x.valid {
				continue
			}
			for _, rst := range r.order[x.x.ctl.tpos+1:] {
				if rst.valid && restriction(rst) && concurrent(x, rst) && r.kills(rst, x) {
					forced[x] = killReason(rst, x)
					grew = true
					break
				}
			}
		}
		if !grew {
			break
		}
	}
	r.final = l.replay(nil, true)
	r.closes = r.closes[:0]
	r.restr = map[string][]*entry{}
	for _, e := range r.order {
		if !e.valid {
			continue
		}
		switch b := e.x.op.Body.(type) {
		case chanop.CloseBody:
			r.closes = append(r.closes, e)
		case chanop.RemoveBody:
			r.restr[b.Target] = append(r.restr[b.Target], e)
		case chanop.GrantBody:
			r.restr[b.Target] = append(r.restr[b.Target], e)
		}
	}
	r.gen++
	for _, e := range l.seq {
		if e.cidx < 0 && e.typ == chanop.TypePost {
			l.evalContent(e)
		}
	}
	for _, e := range l.seq {
		if e.cidx < 0 && e.typ != chanop.TypePost {
			l.evalContent(e)
		}
	}
}

// pass decides every control op in the control order: forced ones are
// refused; the others are checked against their causal past (rule 1), the
// first-add-wins rule and the valid restrictions decided before them.
func (l *Log) pass(forced map[*entry]error) {
	r := &l.res
	r.gen++
	r.sen = map[string]int{}
	var restr []*entry
	added := map[string]bool{}
	for _, x := range r.order {
		x.valid, x.x.reason = false, nil
		if err, ok := forced[x]; ok {
			x.x.reason = err
			continue
		}
		if x.typ == chanop.TypeCreate {
			x.valid = true
			r.sen[x.author] = 0
			continue
		}
		s := l.pastState(x.past)
		if err := authorize(s, x); err != nil {
			x.x.reason = err
			continue
		}
		if x.typ == chanop.TypeAdd && added[x.x.op.Body.(chanop.AddBody).Member] {
			x.x.reason = fmt.Errorf("%w: an earlier concurrent add admitted it", ErrReAdd)
			continue
		}
		for _, rst := range restr {
			if !x.past.set.has(rst.cidx) && r.kills(rst, x) {
				x.x.reason = killReason(rst, x)
				break
			}
		}
		if x.x.reason != nil {
			continue
		}
		x.valid = true
		if x.typ == chanop.TypeAdd {
			m := x.x.op.Body.(chanop.AddBody).Member
			added[m] = true
			r.sen[m] = len(r.sen)
		}
		if restriction(x) {
			restr = append(restr, x)
		}
	}
}

// pastState returns the state of the valid control ops in p, cached for
// the current resolution generation.
func (l *Log) pastState(p *past) *cstate {
	if p.gen != l.res.gen || p.st == nil {
		p.st = l.replay(p.set, false)
		p.gen = l.res.gen
	}
	return p.st
}

// replay applies the valid control ops in set (all of them when all) in the
// control order.
func (l *Log) replay(set bitset, all bool) *cstate {
	s := &cstate{members: map[string]chanop.Perm{}, ever: map[string]bool{}}
	for _, e := range l.res.order {
		if e.valid && (all || set.has(e.cidx)) {
			s.apply(e)
		}
	}
	return s
}

// controlOrder is the deterministic topological order of the control ops
// (Kahn): among ready ops, restrictions first, then the author's seniority
// (the position of the add in its causal past that admitted the author),
// then op id. Each op's key depends only on its causal past, so the order
// restricted to any causally closed subset is that subset's own order.
func (l *Log) controlOrder() []*entry {
	n := len(l.control)
	need := make([]int, n)
	for i, e := range l.control {
		need[i] = e.past.set.count()
	}
	pos := make([]int, n)
	placed := make([]bool, n)
	order := make([]*entry, 0, n)
	ready := []*entry{}
	for i, e := range l.control {
		if need[i] == 0 {
			ready = append(ready, e)
		}
	}
	key := func(e *entry) (int, int) {
		class := 1
		if restriction(e) {
			class = 0
		}
		sen := n + 1
		if e == l.creator || (l.creator != nil && e.author == l.creator.author) {
			sen = -1
		} else {
			for _, a := range l.addsOf[e.author] {
				if e.past.set.has(a.cidx) && pos[a.cidx] < sen {
					sen = pos[a.cidx]
				}
			}
		}
		return class, sen
	}
	for len(ready) > 0 {
		best := 0
		bc, bs := key(ready[0])
		for i := 1; i < len(ready); i++ {
			c, s := key(ready[i])
			if c < bc || (c == bc && (s < bs || (s == bs && bytes.Compare(ready[i].id[:], ready[best].id[:]) < 0))) {
				best, bc, bs = i, c, s
			}
		}
		e := ready[best]
		ready = slices.Delete(ready, best, best+1)
		pos[e.cidx] = len(order)
		placed[e.cidx] = true
		order = append(order, e)
		for i, x := range l.control {
			if !placed[i] && x.past.set.has(e.cidx) {
				need[i]--
				if need[i] == 0 {
					ready = append(ready, x)
				}
			}
		}
	}
	return order
}

// evalContent decides a post, edit or redact: authorized in its control
// past, its target (edit, redact) a valid post of the same author, and no
// valid concurrent restriction forbidding it.
func (l *Log) evalContent(e *entry) {
	e.decide(l.contentReason(e))
}

// contentReason is why the content op e is refused, nil if accepted.
func (l *Log) contentReason(e *entry) error {
	r := &l.res
	if r.final == nil {
		return ErrNotMember
	}
	if err := authorize(l.pastState(e.past), e); err != nil {
		return err
	}
	if e.typ != chanop.TypePost {
		tid := e.target()
		t, ok := l.entries[*tid]
		if !ok || t.typ != chanop.TypePost || !t.valid || t.author != e.author {
			return fmt.Errorf("%w: %s is not a valid post of the author", ErrTarget, *tid)
		}
	}
	for _, list := range [2][]*entry{r.closes, r.restr[e.author]} {
		for _, rst := range list {
			if e.past.set.has(rst.cidx) || l.ancestors(rst).has(e.seq) {
				continue
			}
			if forbids(rst, e) {
				return killReason(rst, e)
			}
		}
	}
	return nil
}

// ancestors returns the set (by seq) of all ops that are ancestors of the
// control op c, computed once (a stored op's ancestors never change).
func (l *Log) ancestors(c *entry) bitset {
	if c.x.ctl.anc != nil {
		return c.x.ctl.anc
	}
	set := make(bitset, c.seq>>6+1)
	stack := append([]*entry(nil), c.parents...)
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if set.has(e.seq) {
			continue
		}
		set[e.seq>>6] |= 1 << (uint(e.seq) & 63)
		stack = append(stack, e.parents...)
	}
	c.x.ctl.anc = set
	return set
}
