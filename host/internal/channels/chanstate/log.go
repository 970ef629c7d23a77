package chanstate

import (
	"crypto"
	"fmt"
	"hash/maphash"
	"slices"
	"sync/atomic"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
)

// DefaultMaxPending is the default bound of the pending buffer.
const DefaultMaxPending = 4096

// Config tunes a Log.
type Config struct {
	// MaxPending bounds the ops waiting for missing parents; when full the
	// oldest waiting op is evicted (and counted). 0 means DefaultMaxPending.
	MaxPending int
	// Pool, if set, also bounds the pending ops of every log sharing it.
	Pool *PendingPool
}

// PendingPool bounds the pending ops of many logs (all channels) together.
// When it is full, a log makes room by evicting its own oldest pending op;
// a log with none pending cannot hold the new op (ErrPendingFull). It is
// safe for concurrent use by logs used from different goroutines.
type PendingPool struct {
	max int64
	n   atomic.Int64
}

// NewPendingPool returns a pool holding at most max pending ops.
func NewPendingPool(max int) *PendingPool { return &PendingPool{max: int64(max)} }

// Len returns the number of pending ops held in the pool's logs.
func (p *PendingPool) Len() int { return int(p.n.Load()) }

// reserve takes a place in the pool if there is one (always, without a pool).
func (p *PendingPool) reserve() bool {
	if p == nil {
		return true
	}
	for {
		n := p.n.Load()
		if n >= p.max {
			return false
		}
		if p.n.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (p *PendingPool) add(d int64) {
	if p != nil {
		p.n.Add(d)
	}
}

// entry is a stored op. Content ops keep only what resolution needs (the
// service keeps their bytes in its store); control ops keep the whole op.
// A log holds one per op, so what most ops (posts) lack is in extra: 128
// bytes an entry instead of 176.
type entry struct {
	id      chanop.ID
	author  string
	time    int64
	parents []*entry
	past    *past // control ops that are ancestors
	// Sealed content ops and adds: the epoch op named, if in the control past.
	epoch *entry
	x     *extra // control ops, edits and redacts, refused ops; else nil
	// sigSum tells a resend (same signature) from an equivocation.
	sigSum uint64
	seq    int32 // insertion index, for ancestor sets over all ops
	cidx   int32 // index among control ops; -1 for content ops
	typ    chanop.Type
	valid  bool
}

// extra is the part of an entry most posts do without.
type extra struct {
	self *past // control ops only: past plus this op
	op   *chanop.Op
	ctl  ctlInfo
	// Edits and redacts: the post they target.
	target *chanop.ID
	reason error
}

// ext returns e's extra part, adding it if needed.
func (e *entry) ext() *extra {
	if e.x == nil {
		e.x = &extra{}
	}
	return e.x
}

// selfPast is a control op's past plus itself; nil for content ops.
func (e *entry) selfPast() *past {
	if e.x == nil {
		return nil
	}
	return e.x.self
}

// target is the post an edit or redact targets; nil for other ops.
func (e *entry) target() *chanop.ID {
	if e.x == nil {
		return nil
	}
	return e.x.target
}

// reason is why e is refused (nil when accepted or not decided).
func (e *entry) reason() error {
	if e.x == nil {
		return nil
	}
	return e.x.reason
}

// decide records whether e is accepted: valid without a reason, refused
// with one.
func (e *entry) decide(reason error) {
	e.valid = reason == nil
	if reason != nil {
		e.ext().reason = reason
	} else if e.x != nil {
		e.x.reason = nil
	}
}

// ctlInfo is what only control ops carry.
type ctlInfo struct {
	key      crypto.PublicKey // create, add: the member's key, when it verified
	precheck error            // add: member certificate/binding problem
	anc      bitset           // ancestors by seq, computed on demand
	tpos     int              // position in the control order
}

// checks are the signature and certificate checks the log runs before
// storing an op: chanop's, except in tests that replay the same ops into
// many logs and memoize them.
type checks struct {
	create func(*chanop.Op) (crypto.PublicKey, error)
	verify func(*chanop.Op, crypto.PublicKey) error
	member func(chanop.AddBody) (crypto.PublicKey, error)
}

var realChecks = checks{
	create: chanop.VerifyCreate,
	verify: chanop.VerifySignature,
	member: func(b chanop.AddBody) (crypto.PublicKey, error) {
		return chanop.MemberKey(b.Member, b.Cert, b.EnvelopeKey, b.Binding)
	},
}

// Log is the causal log of one channel and its resolved state.
type Log struct {
	channel chanop.ID
	max     int
	pool    *PendingPool

	entries map[chanop.ID]*entry
	seq     []*entry
	control []*entry
	addsOf  map[string][]*entry
	names   map[string]string
	pasts   map[string]*past
	creator *entry

	pending  map[chanop.ID]*chanop.Op
	waiting  map[chanop.ID][]chanop.ID
	fifo     []chanop.ID
	evicted  uint64
	editsFor map[chanop.ID][]*entry
	heads    map[*entry]struct{}

	checks checks
	seed   maphash.Seed

	res   resolution
	dirty bool // a control op arrived since the last resolution
	state *State
	ctl   *State // the control part of state, kept across content ops
}

// New returns an empty log for the channel whose create op has id channel.
func New(channel chanop.ID, cfg Config) *Log {
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	return &Log{
		channel:  channel,
		max:      cfg.MaxPending,
		pool:     cfg.Pool,
		checks:   realChecks,
		seed:     maphash.MakeSeed(),
		entries:  map[chanop.ID]*entry{},
		addsOf:   map[string][]*entry{},
		names:    map[string]string{},
		pasts:    map[string]*past{},
		pending:  map[chanop.ID]*chanop.Op{},
		waiting:  map[chanop.ID][]chanop.ID{},
		editsFor: map[chanop.ID][]*entry{},
		heads:    map[*entry]struct{}{},
	}
}

// Channel returns the channel id.
func (l *Log) Channel() chanop.ID { return l.channel }

// Result says what Add did.
type Result struct {
	// Stored lists the ops stored by this call: the op itself and the
	// pending ops it unblocked, in the order they were stored.
	Stored []chanop.ID
	// Duplicate is set when the op was already stored or pending with the
	// same bytes (a no-op).
	Duplicate bool
	// Pending is set when the op waits for missing parents.
	Pending bool
	// Rejected holds the errors of unblocked pending ops that failed
	// verification (they are not stored).
	Rejected []error
	// Evicted lists the pending ops this call evicted to make room (set
	// even when the call fails): whoever keeps their bytes drops them.
	Evicted []chanop.ID
}

// Add adds a decoded op. An op whose parents are all stored is verified and
// stored; one with missing parents waits; a known op with the same bytes is
// a no-op; a known id with other bytes is ErrEquivocation. Whether a stored
// op is accepted is a question for Status and State.
func (l *Log) Add(op *chanop.Op) (Result, error) {
	var res Result
	id := op.ID()
	if op.Header.Type == chanop.TypeCreate {
		if id != l.channel {
			return res, fmt.Errorf("add create op %s to channel %s: %w", id, l.channel, ErrWrongChannel)
		}
	} else if op.Header.Channel != l.channel {
		return res, fmt.Errorf("add op %s of channel %s to channel %s: %w", id, op.Header.Channel, l.channel, ErrWrongChannel)
	}
	if e, ok := l.entries[id]; ok {
		if e.sigSum != l.sigSum(op.Sig) {
			return res, fmt.Errorf("add op %s: %w", id, ErrEquivocation)
		}
		res.Duplicate = true
		return res, nil
	}
	if p, ok := l.pending[id]; ok {
		if l.sigSum(p.Sig) != l.sigSum(op.Sig) {
			return res, fmt.Errorf("add op %s: %w", id, ErrEquivocation)
		}
		res.Duplicate = true
		res.Pending = true
		return res, nil
	}
	var missing []chanop.ID
	for _, p := range op.Header.Parents {
		if _, ok := l.entries[p]; !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		if !l.hold(op, missing, &res) {
			return res, fmt.Errorf("op %s waits for %d missing parents: %w", id, len(missing), ErrPendingFull)
		}
		res.Pending = true
		return res, nil
	}
	if err := l.insert(op); err != nil {
		return res, err
	}
	res.Stored = append(res.Stored, id)
	l.unblock(id, &res)
	return res, nil
}

// hold puts op in the pending buffer, evicting the oldest when full (listed
// in res.Evicted). It reports false when the shared pool is full and this
// log has nothing to evict (the op is counted as evicted).
func (l *Log) hold(op *chanop.Op, missing []chanop.ID, res *Result) bool {
	for len(l.pending) >= l.max && l.evictOldest(res) {
	}
	for !l.pool.reserve() {
		if !l.evictOldest(res) {
			l.evicted++
			return false
		}
	}
	// The fifo also holds ids that were unblocked since: compact it so it
	// stays proportional to the buffer.
	if len(l.fifo) > 2*len(l.pending)+64 {
		kept := l.fifo[:0]
		for _, id := range l.fifo {
			if _, ok := l.pending[id]; ok {
				kept = append(kept, id)
			}
		}
		l.fifo = slices.Clip(kept)
	}
	id := op.ID()
	l.pending[id] = op
	l.fifo = append(l.fifo, id)
	for _, p := range missing {
		l.waiting[p] = append(l.waiting[p], id)
	}
	return true
}

// evictOldest evicts the oldest pending op and lists it in res.Evicted;
// false when there is none.
func (l *Log) evictOldest(res *Result) bool {
	for len(l.fifo) > 0 {
		old := l.fifo[0]
		l.fifo = l.fifo[1:]
		if op, ok := l.pending[old]; ok {
			delete(l.pending, old)
			l.pool.add(-1)
			l.evicted++
			l.forget(op)
			res.Evicted = append(res.Evicted, old)
			return true
		}
	}
	return false
}

// forget removes an evicted op from the waiting lists of its parents.
func (l *Log) forget(op *chanop.Op) {
	id := op.ID()
	for _, p := range op.Header.Parents {
		w := slices.DeleteFunc(l.waiting[p], func(c chanop.ID) bool { return c == id })
		if len(w) == 0 {
			delete(l.waiting, p)
		} else {
			l.waiting[p] = w
		}
	}
}

// unblock stores the pending ops that were waiting for id and are now
// complete, and everything those unblock in turn.
func (l *Log) unblock(id chanop.ID, res *Result) {
	queue := []chanop.ID{id}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		children := l.waiting[p]
		delete(l.waiting, p)
		for _, c := range children {
			op, ok := l.pending[c]
			if !ok || !l.parentsStored(op) {
				continue
			}
			delete(l.pending, c)
			l.pool.add(-1)
			if err := l.insert(op); err != nil {
				res.Rejected = append(res.Rejected, err)
				continue
			}
			res.Stored = append(res.Stored, c)
			queue = append(queue, c)
		}
	}
	if len(l.pending) == 0 {
		l.fifo = l.fifo[:0]
	}
}

func (l *Log) parentsStored(op *chanop.Op) bool {
	for _, p := range op.Header.Parents {
		if _, ok := l.entries[p]; !ok {
			return false
		}
	}
	return true
}

// intern returns the shared *past for set.
func (l *Log) intern(set bitset) *past {
	k := set.key()
	if p, ok := l.pasts[k]; ok {
		return p
	}
	p := &past{set: set}
	l.pasts[k] = p
	return p
}

func (l *Log) name(s string) string {
	if n, ok := l.names[s]; ok {
		return n
	}
	l.names[s] = s
	return s
}

// insert verifies op (its parents are stored) and stores it.
func (l *Log) insert(op *chanop.Op) error {
	h := &op.Header
	e := &entry{id: op.ID(), typ: h.Type, time: h.Time, seq: int32(len(l.seq)), cidx: -1, sigSum: l.sigSum(op.Sig)}
	// Control past: the union of the parents' (a control parent counts itself).
	var cp *past
	same := true
	e.parents = make([]*entry, len(h.Parents))
	for i, pid := range h.Parents {
		p := l.entries[pid]
		e.parents[i] = p
		c := p.past
		if ps := p.selfPast(); ps != nil {
			c = ps
		}
		if cp == nil {
			cp = c
		} else if c != cp {
			same = false
		}
	}
	if !same {
		var set bitset
		for _, p := range e.parents {
			c := p.past
			if ps := p.selfPast(); ps != nil {
				c = ps
			}
			set = set.union(c.set)
		}
		cp = l.intern(set)
	}
	if cp == nil {
		cp = l.intern(nil)
	}
	e.past = cp

	var key crypto.PublicKey
	if h.Type == chanop.TypeCreate {
		k, err := l.checks.create(op)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrVerify, err)
		}
		key = k
	} else {
		key = l.authorKey(h.Author, cp.set)
		if key == nil {
			return fmt.Errorf("op %s by %s: %w", e.id, h.Author, ErrUnknownAuthor)
		}
		// key is bound to the author: it came from the create or an add of
		// the author's node_id, whose certificate derives it.
		if err := l.checks.verify(op, key); err != nil {
			return fmt.Errorf("%w: %w", ErrVerify, err)
		}
	}
	e.author = l.name(h.Author)
	if h.Type.Control() {
		e.cidx = int32(len(l.control))
		x := e.ext()
		x.self = l.intern(cp.set.with(e.cidx))
		x.op = op
		switch b := op.Body.(type) {
		case chanop.CreateBody:
			x.ctl.key = key
			l.creator = e
		case chanop.AddBody:
			e.epoch = l.epochIn(b.Epoch, cp)
			k, err := l.checks.member(b)
			if err != nil {
				x.ctl.precheck = fmt.Errorf("%w: %w", ErrMemberKey, err)
			} else {
				x.ctl.key = k
				m := l.name(b.Member)
				l.addsOf[m] = append(l.addsOf[m], e)
			}
		}
		l.control = append(l.control, e)
		l.dirty = true
	} else {
		if h.Type.Sealed() {
			e.epoch = l.epochIn(h.Epoch, cp)
		}
		switch b := op.Body.(type) {
		case chanop.EditBody:
			e.ext().target = &b.Target
		case chanop.RedactBody:
			e.ext().target = &b.Target
		}
		if t := e.target(); t != nil {
			l.editsFor[*t] = append(l.editsFor[*t], e)
		}
	}
	l.entries[e.id] = e
	l.seq = append(l.seq, e)
	for _, p := range e.parents {
		delete(l.heads, p)
	}
	l.heads[e] = struct{}{}
	l.state = nil
	if !l.dirty && e.cidx < 0 {
		l.evalContent(e)
		if e.typ == chanop.TypePost {
			for _, d := range l.editsFor[e.id] {
				l.evalContent(d)
			}
		}
	}
	return nil
}

func (l *Log) sigSum(sig []byte) uint64 { return maphash.Bytes(l.seed, sig) }

// epochIn returns the control op id if it is in the control past p, else
// nil: an op can only name an epoch it has seen (and the answer must not
// depend on what else has arrived).
func (l *Log) epochIn(id chanop.ID, p *past) *entry {
	if ep, ok := l.entries[id]; ok && ep.cidx >= 0 && p.set.has(ep.cidx) {
		return ep
	}
	return nil
}

// authorKey returns the key of author from the create or an add in the
// control past set, or nil.
func (l *Log) authorKey(author string, set bitset) crypto.PublicKey {
	if l.creator != nil && l.creator.x.op.Header.Author == author {
		return l.creator.x.ctl.key
	}
	for _, a := range l.addsOf[author] {
		if set.has(a.cidx) {
			return a.x.ctl.key
		}
	}
	return nil
}

// Has reports whether the op id is stored.
func (l *Log) Has(id chanop.ID) bool { _, ok := l.entries[id]; return ok }

// Meta returns a stored op's parents and its insertion index (an op comes
// after its parents), from memory: what sync walks need, without reading
// the op's bytes.
func (l *Log) Meta(id chanop.ID) (parents []chanop.ID, index int, ok bool) {
	e, ok := l.entries[id]
	if !ok {
		return nil, 0, false
	}
	parents = make([]chanop.ID, len(e.parents))
	for i, p := range e.parents {
		parents[i] = p.id
	}
	return parents, int(e.seq), true
}

// Len returns the number of stored ops.
func (l *Log) Len() int { return len(l.seq) }

// PendingLen returns the number of ops waiting for parents.
func (l *Log) PendingLen() int { return len(l.pending) }

// Evicted returns how many pending ops were evicted because the buffer was full.
func (l *Log) Evicted() uint64 { return l.evicted }

// Missing returns the parent ids pending ops wait for and that are not
// pending themselves (what to ask peers for), sorted.
func (l *Log) Missing() []chanop.ID {
	var out []chanop.ID
	for p := range l.waiting {
		if _, ok := l.pending[p]; !ok {
			out = append(out, p)
		}
	}
	sortIDs(out)
	return out
}

// Heads returns the stored ops no stored op names as a parent, sorted: the
// parents of the next op this node writes.
func (l *Log) Heads() []chanop.ID {
	out := make([]chanop.ID, 0, len(l.heads))
	for e := range l.heads {
		out = append(out, e.id)
	}
	sortIDs(out)
	return out
}

// Status reports whether id is stored and, if so, whether it is accepted
// and why not.
func (l *Log) Status(id chanop.ID) (stored, accepted bool, reason error) {
	e, ok := l.entries[id]
	if !ok {
		return false, false, nil
	}
	l.resolve()
	return true, e.valid, e.reason()
}
