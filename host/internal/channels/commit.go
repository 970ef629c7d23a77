package channels

import (
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/store"
)

// Bounds of the write queue: past commitOps ops or commitBytes bytes a
// batch is written even while frames are being added (so a steady stream
// of frames cannot hold it back), and past twice that, adding waits for
// the writer (the queue is memory: a disk slower than the network must
// slow the network down, not grow the heap).
const (
	commitOps   = 4096
	commitBytes = 4 << 20
)

// writer is the service's group commit. The store records of the ops a
// node applies or keeps waiting are queued in apply order (under
// Service.mu) and written by one goroutine at a time with one
// store.SetMany; what is queued while a batch is written goes in the next
// one, and the ops of one CHANNEL_OPS frame are added between hold and
// release, so they are not split. The channel.op events of queued ops are
// published once their batch is on disk.
//
// Received ops are not on disk when receive returns: a crash loses at most
// the queue, and anti-entropy fetches those ops again from the members
// that hold them. An op this node writes itself is queued with a ticket and
// the writer waits for it (and for everything queued before it), so it is
// on disk before Post returns, as are the parents it names.
type writer struct {
	write   func([]store.KV) error // store.SetMany
	publish func(network.Event)
	spawn   func(func()) // starts the writing goroutine
	log     hclog.Logger

	mu      sync.Mutex
	room    *sync.Cond // signalled when a batch is written
	queue   []store.KV
	events  []network.Event
	tickets []*ticket
	bytes   int
	holds   int
	running bool
	gen     uint64 // of the last queued batch of records
	// unwritten holds the queued values by key (and the gen that queued
	// them) until they are on disk: reads see an op as soon as it is applied.
	unwritten map[string]queued
}

type queued struct {
	value   []byte
	deleted bool
	gen     uint64
}

// ticket is a write someone waits for.
type ticket struct {
	done chan struct{}
	err  error
}

func newWriter(write func([]store.KV) error, publish func(network.Event), spawn func(func()), log hclog.Logger) *writer {
	w := &writer{write: write, publish: publish, spawn: spawn, log: log, unwritten: map[string]queued{}}
	w.room = sync.NewCond(&w.mu)
	return w
}

// enqueue queues records and the events to publish once they are written;
// with wait it returns once they are on disk, with the write's error.
func (w *writer) enqueue(kvs []store.KV, events []network.Event, wait bool) error {
	if len(kvs) == 0 && len(events) == 0 {
		return nil
	}
	var t *ticket
	w.mu.Lock()
	for w.bytes >= 2*commitBytes || len(w.queue) >= 2*commitOps {
		w.startLocked()
		w.room.Wait()
	}
	w.gen++
	for _, kv := range kvs {
		w.unwritten[string(kv.Key)] = queued{value: kv.Value, deleted: kv.Delete, gen: w.gen}
		w.bytes += len(kv.Key) + len(kv.Value)
	}
	w.queue = append(w.queue, kvs...)
	w.events = append(w.events, events...)
	if wait {
		t = &ticket{done: make(chan struct{})}
		w.tickets = append(w.tickets, t)
	}
	w.startLocked()
	w.mu.Unlock()
	if t == nil {
		return nil
	}
	<-t.done
	return t.err
}

// flush returns once everything queued before it is on disk.
func (w *writer) flush() error {
	t := &ticket{done: make(chan struct{})}
	w.mu.Lock()
	w.tickets = append(w.tickets, t)
	w.startLocked()
	w.mu.Unlock()
	<-t.done
	return t.err
}

// get returns a queued value not yet on disk; queued says whether the
// queue decides (a queued delete answers deleted).
func (w *writer) get(key []byte) (value []byte, deleted, queued bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	q, ok := w.unwritten[string(key)]
	return q.value, q.deleted, ok
}

// hold keeps batches from starting until release: the ops of one frame
// go in one batch.
func (w *writer) hold() {
	w.mu.Lock()
	w.holds++
	w.mu.Unlock()
}

func (w *writer) release() {
	w.mu.Lock()
	w.holds--
	w.startLocked()
	w.mu.Unlock()
}

// dueLocked reports whether the queue should be written now; w.mu is held.
func (w *writer) dueLocked() bool {
	if len(w.queue) == 0 && len(w.events) == 0 && len(w.tickets) == 0 {
		return false
	}
	return w.holds == 0 || len(w.tickets) > 0 || w.bytes >= commitBytes || len(w.queue) >= commitOps
}

// startLocked starts the writing goroutine if none runs and a batch is
// due; w.mu is held.
func (w *writer) startLocked() {
	if w.running || !w.dueLocked() {
		return
	}
	w.running = true
	w.spawn(w.run)
}

// run writes batches while one is due.
func (w *writer) run() {
	w.mu.Lock()
	for w.dueLocked() {
		kvs, events, tickets, gen := w.queue, w.events, w.tickets, w.gen
		w.queue, w.events, w.tickets, w.bytes = nil, nil, nil, 0
		w.mu.Unlock()
		err := w.write(kvs)
		if err != nil {
			// The ops stay applied in memory; without their records a
			// restart does not replay them and sync fetches them again.
			w.log.Error("writing channel ops to the store", "ops", len(kvs), "error", err)
		} else {
			for _, e := range events {
				w.publish(e)
			}
		}
		for _, t := range tickets {
			t.err = err
			close(t.done)
		}
		w.mu.Lock()
		for _, kv := range kvs {
			if q, ok := w.unwritten[string(kv.Key)]; ok && q.gen <= gen {
				delete(w.unwritten, string(kv.Key))
			}
		}
		w.room.Broadcast()
	}
	w.running = false
	w.room.Broadcast()
	w.mu.Unlock()
}
