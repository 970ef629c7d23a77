package chanstate

import "github.com/dpc-go/dpc/host/internal/channels/chanop"

// Removals returns the accepted remove ops whose target is node (the ops
// that removed it, or its leaving), sorted by id; none while it is a
// member or was never one. A removed node is served the causal past of
// these ops and nothing after (proto/channels.md, "Removed members").
func (l *Log) Removals(node string) []chanop.ID {
	l.resolve()
	var out []chanop.ID
	for _, e := range l.control {
		if e.typ != chanop.TypeRemove || !e.valid {
			continue
		}
		if b, ok := e.x.op.Body.(chanop.RemoveBody); ok && b.Target == node {
			out = append(out, e.id)
		}
	}
	sortIDs(out)
	return out
}

// InPast reports whether id is the stored control op of, or one of its
// ancestors. It is false when of is not a stored control op or id is not
// stored.
func (l *Log) InPast(id, of chanop.ID) bool {
	c, ok := l.entries[of]
	if !ok || c.cidx < 0 {
		return false
	}
	if id == of {
		return true
	}
	e, ok := l.entries[id]
	return ok && l.ancestors(c).has(e.seq)
}
