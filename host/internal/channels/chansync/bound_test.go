package chansync

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/dpc-go/dpc/host/internal/dptp"
)

// pastOf returns op and its ancestors in l.
func pastOf(l *memLog, ch, op ID) map[ID]bool {
	past := map[ID]bool{}
	stack := []ID{op}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if past[id] {
			continue
		}
		past[id] = true
		ps, _, _ := l.Meta(ch, id)
		stack = append(stack, ps...)
	}
	return past
}

// TestPeerOutsideAllowIsServedOnlyItsBoundedPast: a peer Allow refuses but
// Past bounds (a removed member) syncing with a member gets the ops up to
// and including the bound and nothing after: the sync shows it the bound's
// heads, a want of a later op brings nothing, and its pushes are refused.
// Before, such a peer was refused everything, so it never learned of its
// own removal.
func TestPeerOutsideAllowIsServedOnlyItsBoundedPast(t *testing.T) {
	t.Parallel()
	raw, ch := genesis(77)
	rng := rand.New(rand.NewPCG(77, 1))
	w := &wire{}
	m := &node{name: "member", log: newMemLog(raw)}
	for range 30 {
		m.log.post(rng, 64)
	}
	removal := m.log.post(rng, 64)
	var later []ID
	for range 30 {
		later = append(later, m.log.post(rng, 64))
	}
	past := pastOf(m.log, ch, removal)
	removed := nodeID("removed")
	var err error
	m.syncer, err = New(Config{Log: m.log,
		Allow: func(peer string, _ ID) bool { return peer != removed },
		Past: func(peer string, _ ID) ([]ID, func(ID) bool) {
			if peer != removed {
				return nil, nil
			}
			return []ID{removal}, func(id ID) bool { return past[id] }
		}})
	if err != nil {
		t.Fatal(err)
	}
	r := newNode(t, "removed", raw, nil)
	toMember := pipe{from: r, to: m, w: w}

	if _, err := r.syncer.Sync(context.Background(), toMember, ch); err != nil {
		t.Fatalf("sync of the removed peer: %v", err)
	}
	for id := range r.log.ids() {
		if !past[id] {
			t.Fatalf("the removed peer holds op %s, after its removal", id)
		}
	}
	if got := r.log.Count(ch); got != len(past) {
		t.Fatalf("the removed peer holds %d ops, want the %d up to its removal", got, len(past))
	}
	if _, err := r.syncer.Fetch(context.Background(), toMember, ch, later[len(later)-1:]); !errors.Is(err, ErrNoProgress) {
		t.Fatalf("want of an op after the removal: want ErrNoProgress, got %v", err)
	}
	if got := r.log.Count(ch); got != len(past) {
		t.Fatalf("a want of a later op brought %d ops", got-len(past))
	}
	own := r.log.post(rng, 64)
	ownRaw, _ := r.log.Raw(ch, own)
	if err := toMember.Send(context.Background(), dptp.ChannelOps{ChannelID: ch.String(), Ops: [][]byte{ownRaw}}); err != nil {
		t.Fatal(err)
	}
	if len(w.errors) != 1 || w.errors[0].Code != dptp.CodePermissionDenied || m.log.Has(ch, own) {
		t.Fatalf("a push by the removed peer: errors %+v, taken %v", w.errors, m.log.Has(ch, own))
	}
}
