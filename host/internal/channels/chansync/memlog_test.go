package chansync

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
)

// The tests' op format (the real one is chanop's): "tst1" | channel (32) |
// parent count (1 byte, 0..16) | parents (32 each) | body. id = SHA-256 of
// it all. The channel id is the id of its genesis op (channel all zero, no
// parents), like chanop's create.
const opMagic = "tst1"

var errBadTestOp = errors.New("memlog: bad op")

type testOp struct {
	channel ID
	parents []ID
	body    []byte
}

func encodeTestOp(o testOp) []byte {
	b := append([]byte(opMagic), o.channel[:]...)
	b = append(b, byte(len(o.parents)))
	for _, p := range o.parents {
		b = append(b, p[:]...)
	}
	return append(b, o.body...)
}

func decodeTestOp(raw []byte) (testOp, error) {
	var o testOp
	if len(raw) < len(opMagic)+33 || string(raw[:4]) != opMagic {
		return o, fmt.Errorf("%w: not a test op", errBadTestOp)
	}
	copy(o.channel[:], raw[4:36])
	n := int(raw[36])
	if n > 16 || len(raw) < 37+32*n {
		return o, fmt.Errorf("%w: %d parents", errBadTestOp, n)
	}
	for i := range n {
		var p ID
		copy(p[:], raw[37+32*i:])
		o.parents = append(o.parents, p)
	}
	o.body = raw[37+32*n:]
	return o, nil
}

func opID(raw []byte) ID { return sha256.Sum256(raw) }

// genesis returns a channel's first op and the channel id.
func genesis(seed uint64) ([]byte, ID) {
	raw := encodeTestOp(testOp{body: fmt.Appendf(nil, "genesis %d", seed)})
	return raw, opID(raw)
}

type memEntry struct {
	raw     []byte
	parents []ID
	seq     uint64
}

type pendingOp struct {
	raw     []byte
	parents []ID
}

// memLog is an in-memory Log of one channel, with a bounded pending buffer
// (oldest evicted first, counted), like the one chanstate keeps.
type memLog struct {
	mu         sync.Mutex
	channel    ID
	ops        map[ID]memEntry
	heads      map[ID]struct{}
	pending    map[ID]pendingOp
	pendOrder  []ID
	maxPending int
	evicted    int
}

func newMemLog(genesisRaw []byte) *memLog {
	l := &memLog{channel: opID(genesisRaw), ops: map[ID]memEntry{}, heads: map[ID]struct{}{},
		pending: map[ID]pendingOp{}, maxPending: 4096}
	l.apply(l.channel, genesisRaw, nil)
	return l
}

func (l *memLog) Known(channel ID) bool { return channel == l.channel }

func (l *memLog) Heads(channel ID) []ID {
	l.mu.Lock()
	defer l.mu.Unlock()
	if channel != l.channel {
		return nil
	}
	out := make([]ID, 0, len(l.heads))
	for h := range l.heads {
		out = append(out, h)
	}
	return out
}

func (l *memLog) Count(channel ID) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if channel != l.channel {
		return 0
	}
	return len(l.ops)
}

func (l *memLog) Has(channel ID, id ID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.ops[id]
	return ok && channel == l.channel
}

func (l *memLog) Meta(channel ID, id ID) ([]ID, uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.ops[id]
	if !ok || channel != l.channel {
		return nil, 0, false
	}
	return e.parents, e.seq, true
}

func (l *memLog) Raw(channel ID, id ID) ([]byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.ops[id]
	if !ok || channel != l.channel {
		return nil, false
	}
	return e.raw, true
}

func (l *memLog) Add(channel ID, raw []byte) (ID, []ID, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if channel != l.channel {
		return ID{}, nil, fmt.Errorf("%w: unknown channel", errBadTestOp)
	}
	o, err := decodeTestOp(raw)
	if err != nil {
		return ID{}, nil, err
	}
	id := opID(raw)
	if o.channel != channel || len(o.parents) == 0 {
		return id, nil, fmt.Errorf("%w: of another channel or without parents", errBadTestOp)
	}
	if _, ok := l.ops[id]; ok {
		return id, nil, nil
	}
	var missing []ID
	for _, p := range o.parents {
		if _, ok := l.ops[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		if _, ok := l.pending[id]; !ok {
			if len(l.pendOrder) >= l.maxPending {
				delete(l.pending, l.pendOrder[0])
				l.pendOrder = l.pendOrder[1:]
				l.evicted++
			}
			l.pending[id] = pendingOp{raw: slices.Clone(raw), parents: o.parents}
			l.pendOrder = append(l.pendOrder, id)
		}
		return id, missing, nil
	}
	l.apply(id, slices.Clone(raw), o.parents)
	// Apply what this unblocks, transitively.
	for progress := true; progress; {
		progress = false
		for _, pid := range l.pendOrder {
			p, ok := l.pending[pid]
			if !ok || !l.allHeld(p.parents) {
				continue
			}
			delete(l.pending, pid)
			l.apply(pid, p.raw, p.parents)
			progress = true
		}
		if progress {
			l.pendOrder = slices.DeleteFunc(l.pendOrder, func(id ID) bool { _, ok := l.pending[id]; return !ok })
		}
	}
	return id, nil, nil
}

func (l *memLog) allHeld(ids []ID) bool {
	for _, p := range ids {
		if _, ok := l.ops[p]; !ok {
			return false
		}
	}
	return true
}

func (l *memLog) apply(id ID, raw []byte, parents []ID) {
	l.ops[id] = memEntry{raw: raw, parents: parents, seq: uint64(len(l.ops))}
	for _, p := range parents {
		delete(l.heads, p)
	}
	l.heads[id] = struct{}{}
}

func (l *memLog) pendingLen() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// ids returns the set of held op ids.
func (l *memLog) ids() map[ID]struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[ID]struct{}, len(l.ops))
	for id := range l.ops {
		out[id] = struct{}{}
	}
	return out
}

// post makes a new op on top of 1..3 random heads and adds it.
func (l *memLog) post(rng *rand.Rand, bodyLen int) ID {
	heads := l.Heads(l.channel)
	slices.SortFunc(heads, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	rng.Shuffle(len(heads), func(i, j int) { heads[i], heads[j] = heads[j], heads[i] })
	parents := heads[:1+rng.IntN(min(len(heads), 3))]
	slices.SortFunc(parents, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	body := make([]byte, bodyLen)
	for i := range body {
		body[i] = byte(rng.UintN(256))
	}
	raw := encodeTestOp(testOp{channel: l.channel, parents: parents, body: body})
	id, missing, err := l.Add(l.channel, raw)
	if err != nil || len(missing) > 0 {
		panic(fmt.Sprintf("post: %v %v", err, missing))
	}
	return id
}
