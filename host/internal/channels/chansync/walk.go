package chansync

import "container/heap"

// walk returns the ops of want and their ancestors that the ancestry of
// covered (the asker's heads) does not contain, oldest first, and whether
// it stopped at MaxWalk before finding them all (then what it returns is the
// newest part, and the asker will want the rest by their ids).
//
// It walks back from both sets at once, newest first in the log's local
// order: when an op is popped every child of it in the walk has been popped
// before (children come later in that order), so its mark is final —
// covered if any covered op reached it. The walk ends when no uncovered op
// is left to visit, so it costs the ops between the two frontiers.
func (s *Syncer) walk(channel ID, want, covered []ID) (order []ID, truncated bool) {
	w := walker{marks: make(map[ID]bool)}
	for _, id := range covered {
		s.visit(&w, channel, id, true)
	}
	for _, id := range want {
		s.visit(&w, channel, id, false)
	}
	for steps := 0; w.uncovered > 0 && w.q.Len() > 0; steps++ {
		if steps >= s.cfg.MaxWalk {
			truncated = true
			break
		}
		e := heap.Pop(&w.q).(entry)
		isCovered := w.marks[e.id]
		if !isCovered {
			w.uncovered--
			order = append(order, e.id)
		}
		for _, p := range e.parents {
			s.visit(&w, channel, p, isCovered)
		}
	}
	// order is newest first.
	for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
		order[i], order[j] = order[j], order[i]
	}
	return order, truncated
}

// visit queues id (when held) with the mark covered, or upgrades its mark.
func (s *Syncer) visit(w *walker, channel ID, id ID, covered bool) {
	if was, seen := w.marks[id]; seen {
		if covered && !was {
			w.marks[id] = true
			w.uncovered--
		}
		return
	}
	parents, seq, ok := s.cfg.Log.Meta(channel, id)
	if !ok {
		return // not held here: the asker may still get it from someone else
	}
	w.marks[id] = covered
	if !covered {
		w.uncovered++
	}
	heap.Push(&w.q, entry{id: id, seq: seq, parents: parents})
}

// walker is the state of one walk.
type walker struct {
	q entries
	// marks holds every op queued so far: true when covered.
	marks map[ID]bool
	// uncovered counts the queued ops not yet popped that are not covered.
	uncovered int
}

type entry struct {
	id      ID
	seq     uint64
	parents []ID
}

// entries is a max-heap on seq.
type entries []entry

func (q entries) Len() int           { return len(q) }
func (q entries) Less(i, j int) bool { return q[i].seq > q[j].seq }
func (q entries) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *entries) Push(x any)        { *q = append(*q, x.(entry)) }
func (q *entries) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// locatorDense is how many ops right behind each head a locator lists one
// by one before it starts doubling the distance.
const locatorDense = 8

// locator returns a sample of the ancestry of heads that this log holds, at
// most max ids, for the peer to treat as covered: along each head's
// first-parent chain, the ops at distance 1..locatorDense, then at doubling
// distances, and the chain's end (the channel's first op). The first op
// the peer also holds on that chain is thus at most about twice as far as
// the fork, so what the peer sends back that this node had is at most about
// what it lacked. Chains stop where they meet one already followed, and the
// whole costs at most MaxWalk lookups.
func (s *Syncer) locator(channel ID, heads []ID, max int) []ID {
	seen := make(map[ID]struct{}, len(heads))
	for _, h := range heads {
		seen[h] = struct{}{}
	}
	var out []ID
	steps := 0
	for _, h := range heads {
		cur, dist, next, taken := h, 0, 1, true
		for len(out) < max && steps < s.cfg.MaxWalk {
			parents, _, ok := s.cfg.Log.Meta(channel, cur)
			steps++
			if !ok || len(parents) == 0 {
				if !taken {
					out = append(out, cur) // the chain's end: the channel's first op
				}
				break
			}
			cur = parents[0]
			if _, dup := seen[cur]; dup {
				break // the rest of this chain was followed from another head
			}
			seen[cur] = struct{}{}
			dist++
			taken = dist == next
			if taken {
				out = append(out, cur)
				if next < locatorDense {
					next++
				} else {
					next *= 2
				}
			}
		}
	}
	return out
}
