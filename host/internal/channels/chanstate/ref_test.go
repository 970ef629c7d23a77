package chanstate

import (
	"bytes"
	"crypto/x509"
	"slices"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
)

// The reference evaluator: a slow, direct reading of the rules in
// proto/channels.md over the full DAG. It shares no code with the Log but
// the op types: ancestors are explicit sets, every state is replayed from
// scratch, nothing is cached or incremental.

type refOp struct {
	op    *chanop.Op
	id    chanop.ID
	anc   map[chanop.ID]bool
	valid bool
}

type refEval struct {
	ops     map[chanop.ID]*refOp
	creator string
	order   []*refOp // control order
	pos     map[chanop.ID]int
	sen     map[string]int
}

type refState struct {
	creator string
	members map[string]chanop.Perm
	ever    map[string]bool
	closed  bool
	epochs  map[chanop.ID]bool
}

// refStored returns the ops a log stores out of all: those whose parents
// are stored and whose signature verifies with the author's key from the
// create or an add (with a good certificate) among its ancestors.
func refStored(channel chanop.ID, all []*chanop.Op) map[chanop.ID]*refOp {
	byID := map[chanop.ID]*chanop.Op{}
	for _, op := range all {
		byID[op.ID()] = op
	}
	stored := map[chanop.ID]*refOp{}
	var creator string
	for changed := true; changed; {
		changed = false
		ids := make([]chanop.ID, 0, len(byID))
		for id := range byID {
			ids = append(ids, id)
		}
		sortIDs(ids)
		for _, id := range ids {
			op := byID[id]
			if stored[id] != nil {
				continue
			}
			if op.Header.Type == chanop.TypeCreate {
				if id != channel {
					continue
				}
				if _, err := chanop.VerifyCreate(op); err != nil {
					continue
				}
				stored[id] = &refOp{op: op, id: id, anc: map[chanop.ID]bool{}}
				creator = op.Header.Author
				changed = true
				continue
			}
			if op.Header.Channel != channel {
				continue
			}
			ok := true
			anc := map[chanop.ID]bool{}
			for _, p := range op.Header.Parents {
				ps := stored[p]
				if ps == nil {
					ok = false
					break
				}
				anc[p] = true
				for a := range ps.anc {
					anc[a] = true
				}
			}
			if !ok {
				continue
			}
			var key any
			if op.Header.Author == creator {
				key = refKeyOf(stored[channel].op)
			} else {
				for a := range anc {
					if b, isAdd := stored[a].op.Body.(chanop.AddBody); isAdd && b.Member == op.Header.Author && refMemberKeyOK(stored[a].op) {
						key = refKeyOf(stored[a].op)
					}
				}
			}
			if key == nil || chanop.Verify(op, key) != nil {
				continue
			}
			stored[id] = &refOp{op: op, id: id, anc: anc}
			changed = true
		}
	}
	return stored
}

// refMemberKeyOK memoizes MemberKey by op id (the reference is slow on
// purpose, but not in the signature checks it repeats).
var refMemberKeyMemo = map[chanop.ID]bool{}

func refMemberKeyOK(op *chanop.Op) bool {
	ok, seen := refMemberKeyMemo[op.ID()]
	if !seen {
		b := op.Body.(chanop.AddBody)
		_, err := chanop.MemberKey(b.Member, b.Cert, b.EnvelopeKey, b.Binding)
		ok = err == nil
		refMemberKeyMemo[op.ID()] = ok
	}
	return ok
}

// refKeyOf is the public key in a create's or an add's certificate.
func refKeyOf(op *chanop.Op) any {
	var der []byte
	switch b := op.Body.(type) {
	case chanop.CreateBody:
		der = b.Cert
	case chanop.AddBody:
		der = b.Cert
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil
	}
	return c.PublicKey
}

func refLess(a, b chanop.ID) bool { return bytes.Compare(a[:], b[:]) < 0 }

func isRestriction(t chanop.Type) bool {
	return t == chanop.TypeRemove || t == chanop.TypeGrant || t == chanop.TypeClose
}

// refEvaluate returns the evaluator and the accepted op ids.
func refEvaluate(channel chanop.ID, all []*chanop.Op) (*refEval, map[chanop.ID]bool) {
	ops := refStored(channel, all)
	ev := &refEval{ops: ops, pos: map[chanop.ID]int{}}
	if c := ops[channel]; c != nil {
		ev.creator = c.op.Header.Author
	}
	var control []*refOp
	for _, o := range ops {
		if o.op.Header.Type.Control() {
			control = append(control, o)
		}
	}
	// Control order: Kahn over the control ops, one op at a time.
	for len(ev.order) < len(control) {
		var best *refOp
		var bc, bs int
		for _, x := range control {
			if _, placed := ev.pos[x.id]; placed {
				continue
			}
			ready := true
			for a := range x.anc {
				if ops[a].op.Header.Type.Control() {
					if _, placed := ev.pos[a]; !placed {
						ready = false
					}
				}
			}
			if !ready {
				continue
			}
			c := 1
			if isRestriction(x.op.Header.Type) {
				c = 0
			}
			s := len(control) + 1
			if x.op.Header.Author == ev.creator {
				s = -1
			} else {
				for a := range x.anc {
					if b, ok := ops[a].op.Body.(chanop.AddBody); ok && b.Member == x.op.Header.Author && refMemberKeyOK(ops[a].op) && ev.pos[a] < s {
						s = ev.pos[a]
					}
				}
			}
			if best == nil || c < bc || (c == bc && (s < bs || (s == bs && refLess(x.id, best.id)))) {
				best, bc, bs = x, c, s
			}
		}
		ev.pos[best.id] = len(ev.order)
		ev.order = append(ev.order, best)
	}
	// Fixpoint over forced refusals.
	forced := map[chanop.ID]bool{}
	for {
		ev.pass(forced)
		grew := false
		for _, x := range ev.order {
			if !x.valid {
				continue
			}
			for _, r := range ev.order {
				if ev.pos[r.id] > ev.pos[x.id] && r.valid && isRestriction(r.op.Header.Type) && !x.anc[r.id] && !r.anc[x.id] && ev.kills(r, x) {
					forced[x.id] = true
					grew = true
					break
				}
			}
		}
		if !grew {
			break
		}
	}
	// Content ops: posts first, then edits and redacts.
	accepted := map[chanop.ID]bool{}
	for _, x := range ev.order {
		if x.valid {
			accepted[x.id] = true
		}
	}
	for _, phase := range []bool{true, false} {
		ids := make([]chanop.ID, 0, len(ops))
		for id, o := range ops {
			if !o.op.Header.Type.Control() && (o.op.Header.Type == chanop.TypePost) == phase {
				ids = append(ids, id)
			}
		}
		for _, id := range ids {
			x := ops[id]
			x.valid = ev.contentValid(x, accepted)
			if x.valid {
				accepted[id] = true
			}
		}
	}
	return ev, accepted
}

// stateOf replays the valid control ancestors of x in the control order.
func (ev *refEval) stateOf(x *refOp) *refState {
	s := &refState{members: map[string]chanop.Perm{}, ever: map[string]bool{}, epochs: map[chanop.ID]bool{}}
	for _, y := range ev.order {
		if !y.valid || !x.anc[y.id] {
			continue
		}
		switch b := y.op.Body.(type) {
		case chanop.CreateBody:
			s.creator = y.op.Header.Author
			s.members[s.creator] = chanop.PermAll
			s.ever[s.creator] = true
			s.epochs[y.id] = true
		case chanop.AddBody:
			s.members[b.Member] = b.Perms
			s.ever[b.Member] = true
		case chanop.RemoveBody:
			delete(s.members, b.Target)
			s.epochs[y.id] = true
		case chanop.RekeyBody:
			s.epochs[y.id] = true
		case chanop.GrantBody:
			s.members[b.Target] = b.Perms
		case chanop.CloseBody:
			s.closed = true
		}
	}
	return s
}

// needs reports whether an author holding p may do x (the permission part).
func refPermits(p chanop.Perm, x *chanop.Op) bool {
	switch b := x.Body.(type) {
	case chanop.AddBody:
		return p&chanop.PermInvite != 0 && b.Perms&^p == 0
	case chanop.RemoveBody:
		return b.Target == x.Header.Author || p&chanop.PermRemove != 0
	case chanop.GrantBody:
		return p&chanop.PermAdmin != 0 && b.Perms&^p == 0
	case chanop.CloseBody:
		return p&chanop.PermClose != 0
	case chanop.PostBody, chanop.EditBody:
		return p&chanop.PermWrite != 0
	}
	return true
}

func refKeysExact(keys []chanop.WrappedFor, members map[string]chanop.Perm, except string) bool {
	want := []string{}
	for m := range members {
		if m != except {
			want = append(want, m)
		}
	}
	slices.Sort(want)
	got := []string{}
	for _, k := range keys {
		got = append(got, k.Member)
	}
	return slices.Equal(want, got)
}

// authorized applies rule 1 to x in state s.
func (ev *refEval) authorized(s *refState, x *refOp) bool {
	op := x.op
	if op.Header.Type == chanop.TypeCreate {
		return true
	}
	p, member := s.members[op.Header.Author]
	if s.closed || !member || !refPermits(p, op) {
		return false
	}
	switch b := op.Body.(type) {
	case chanop.AddBody:
		if !refMemberKeyOK(op) {
			return false
		}
		return !s.ever[b.Member] && s.epochs[b.Epoch]
	case chanop.RemoveBody:
		_, isMember := s.members[b.Target]
		return isMember && (b.Target == op.Header.Author || b.Target != s.creator) && refKeysExact(b.Keys, s.members, b.Target)
	case chanop.RekeyBody:
		return refKeysExact(b.Keys, s.members, "")
	case chanop.GrantBody:
		_, isMember := s.members[b.Target]
		return isMember && b.Target != s.creator
	case chanop.PostBody, chanop.EditBody:
		return s.epochs[op.Header.Epoch]
	}
	return true
}

// forbids: would r (a restriction) take away what x needs?
func refForbids(r, x *chanop.Op) bool {
	switch b := r.Body.(type) {
	case chanop.CloseBody:
		return true
	case chanop.RemoveBody:
		return b.Target == x.Header.Author
	case chanop.GrantBody:
		return b.Target == x.Header.Author && !refPermits(b.Perms, x)
	}
	return false
}

func (ev *refEval) outranks(a, b *refOp) bool {
	sa, sb := ev.sen[a.op.Header.Author], ev.sen[b.op.Header.Author]
	if sa != sb {
		return sa < sb
	}
	return refLess(a.id, b.id)
}

func (ev *refEval) kills(r, x *refOp) bool {
	if !refForbids(r.op, x.op) {
		return false
	}
	return !(isRestriction(x.op.Header.Type) && refForbids(x.op, r.op) && ev.outranks(x, r))
}

func (ev *refEval) pass(forced map[chanop.ID]bool) {
	ev.sen = map[string]int{ev.creator: 0}
	added := map[string]bool{}
	for i, x := range ev.order {
		x.valid = false
		if forced[x.id] {
			continue
		}
		if !ev.authorized(ev.stateOf(x), x) {
			continue
		}
		if b, ok := x.op.Body.(chanop.AddBody); ok && added[b.Member] {
			continue
		}
		killed := false
		for _, r := range ev.order[:i] {
			if r.valid && isRestriction(r.op.Header.Type) && !x.anc[r.id] && ev.kills(r, x) {
				killed = true
				break
			}
		}
		if killed {
			continue
		}
		x.valid = true
		if b, ok := x.op.Body.(chanop.AddBody); ok {
			added[b.Member] = true
			ev.sen[b.Member] = len(ev.sen)
		}
	}
}

func (ev *refEval) contentValid(x *refOp, accepted map[chanop.ID]bool) bool {
	if !ev.authorized(ev.stateOf(x), x) {
		return false
	}
	var target chanop.ID
	switch b := x.op.Body.(type) {
	case chanop.EditBody:
		target = b.Target
	case chanop.RedactBody:
		target = b.Target
	}
	if x.op.Header.Type != chanop.TypePost {
		t := ev.ops[target]
		if t == nil || t.op.Header.Type != chanop.TypePost || !accepted[target] || t.op.Header.Author != x.op.Header.Author {
			return false
		}
	}
	for _, r := range ev.order {
		if r.valid && isRestriction(r.op.Header.Type) && !x.anc[r.id] && !r.anc[x.id] && refForbids(r.op, x.op) {
			return false
		}
	}
	return true
}

// refInvariants checks the rules on an accepted set directly, whatever
// algorithm produced it; it returns a description of the first violation.
func (ev *refEval) invariants(accepted map[chanop.ID]bool) string {
	acc := func(x *refOp) bool { return accepted[x.id] }
	for _, x := range ev.ops {
		if !acc(x) {
			continue
		}
		// Rule 1: authorized in the state of its accepted ancestors.
		if !ev.authorized(ev.stateOf(x), x) {
			return "accepted op not authorized in its causal past: " + x.op.Header.Type.String() + " " + x.id.String()
		}
		// Rule 2/3: no accepted concurrent restriction forbids it, unless it outranks it.
		for _, r := range ev.order {
			if r.id != x.id && acc(r) && isRestriction(r.op.Header.Type) && !x.anc[r.id] && !r.anc[x.id] && ev.kills(r, x) {
				return "accepted " + x.op.Header.Type.String() + " " + x.id.String() + " is forbidden by accepted concurrent " + r.op.Header.Type.String()
			}
		}
	}
	// Only one add per node_id; at most one close.
	adds, closes := map[string]int{}, 0
	for _, x := range ev.order {
		if !acc(x) {
			continue
		}
		if b, ok := x.op.Body.(chanop.AddBody); ok {
			if adds[b.Member]++; adds[b.Member] > 1 {
				return "two accepted adds of " + b.Member
			}
		}
		if x.op.Header.Type == chanop.TypeClose {
			if closes++; closes > 1 {
				return "two accepted closes"
			}
		}
	}
	return ""
}
