package channels

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/store"
)

// fakeDisk is the writer's store: it records every write (one per
// transaction group), can hold writes at a gate, and records, per event
// published, how many writes had returned by then.
type fakeDisk struct {
	mu       sync.Mutex
	writes   [][]store.KV
	returned int
	written  map[string]bool
	gate     chan struct{} // when set, each write waits for a receive
	started  chan struct{} // a write started
	events   []string
	seenDisk []bool // per event: its op's record had been written
	err      error
}

func newFakeDisk() *fakeDisk {
	return &fakeDisk{written: map[string]bool{}, started: make(chan struct{}, 1)}
}

func (d *fakeDisk) write(kvs []store.KV) error {
	select {
	case d.started <- struct{}{}:
	default:
	}
	if d.gate != nil {
		<-d.gate
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writes = append(d.writes, kvs)
	for _, kv := range kvs {
		if kv.Delete {
			delete(d.written, string(kv.Key))
		} else {
			d.written[string(kv.Key)] = true
		}
	}
	d.returned++
	return d.err
}

func (d *fakeDisk) publish(e network.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := e.Data.(string)
	d.events = append(d.events, k)
	d.seenDisk = append(d.seenDisk, d.written[k])
}

func (d *fakeDisk) writer() *writer {
	return newWriter(d.write, d.publish, func(f func()) { go f() }, hclog.NewNullLogger())
}

func kv(i int) ([]store.KV, []network.Event) {
	k := fmt.Sprintf("chanop/%d", i)
	return []store.KV{{Key: []byte(k), Value: []byte("op")}}, []network.Event{{Type: "channel.op", Data: k}}
}

// flush enqueues a write that waits, the way Post does, so the test knows
// everything queued before it is written.
func flush(t *testing.T, w *writer) {
	t.Helper()
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
}

// TestFrameOfReceivedOpsIsOneWrite: the ops of one CHANNEL_OPS frame
// (added between hold and release) reach the store in one write, and
// their events are published only once it returned. Before, every op was
// its own synchronous write (and a second one for its seq index).
func TestFrameOfReceivedOpsIsOneWrite(t *testing.T) {
	d := newFakeDisk()
	w := d.writer()
	w.hold()
	for i := range 50 {
		kvs, evs := kv(i)
		if err := w.enqueue(kvs, evs, false); err != nil {
			t.Fatal(err)
		}
	}
	if v, _, ok := w.get([]byte("chanop/7")); !ok || string(v) != "op" {
		t.Fatalf("a queued op is not readable before it is written: %q %v", v, ok)
	}
	d.mu.Lock()
	n := len(d.writes)
	d.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d writes while the frame was being added", n)
	}
	w.release()
	flush(t, w)
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.writes[0]) < 50 || string(d.writes[0][49].Key) != "chanop/49" {
		t.Fatalf("first write: %d records, want the frame's 50 in one", len(d.writes[0]))
	}
	if len(d.events) != 50 {
		t.Fatalf("%d events published, want 50", len(d.events))
	}
	for i, ok := range d.seenDisk {
		if !ok || d.events[i] != fmt.Sprintf("chanop/%d", i) {
			t.Fatalf("event %d (%s) published before its op was written, or out of order", i, d.events[i])
		}
	}
	if _, _, ok := w.get([]byte("chanop/7")); ok {
		t.Fatal("a written op is still held in the queue")
	}
}

// TestOpsQueuedDuringAWriteShareTheNextWrite: while one write is on its
// way to disk, the ops that arrive are grouped into the next single write
// (group commit), in the order they were queued.
func TestOpsQueuedDuringAWriteShareTheNextWrite(t *testing.T) {
	d := newFakeDisk()
	d.gate = make(chan struct{})
	w := d.writer()
	kvs, evs := kv(0)
	if err := w.enqueue(kvs, evs, false); err != nil {
		t.Fatal(err)
	}
	<-d.started // the first write is under way, held at the gate
	for i := 1; i <= 20; i++ {
		kvs, evs := kv(i)
		if err := w.enqueue(kvs, evs, false); err != nil {
			t.Fatal(err)
		}
	}
	close(d.gate)
	flush(t, w)
	d.mu.Lock()
	defer d.mu.Unlock()
	var sizes []int
	for _, b := range d.writes {
		sizes = append(sizes, len(b))
	}
	if len(d.writes) < 2 || len(d.writes[0]) != 1 || len(d.writes[1]) < 20 {
		t.Fatalf("write sizes %v, want [1 20 ...] (the 20 queued during the first write grouped)", sizes)
	}
	for i, k := range d.writes[1][:20] {
		if string(k.Key) != fmt.Sprintf("chanop/%d", i+1) {
			t.Fatalf("record %d of the second write is %s", i, k.Key)
		}
	}
	for i, ok := range d.seenDisk {
		if !ok {
			t.Fatalf("event %d (%s) published before its op was written", i, d.events[i])
		}
	}
}

// TestOwnWriteReturnsOnceOnDisk: a write this node waits for (its own
// post) returns after the store write that holds it, and with its error.
func TestOwnWriteReturnsOnceOnDisk(t *testing.T) {
	errDisk := errors.New("disk full")
	for name, diskErr := range map[string]error{"written": nil, "write fails": errDisk} {
		t.Run(name, func(t *testing.T) {
			d := newFakeDisk()
			d.err = diskErr
			w := d.writer()
			err := w.enqueue([]store.KV{{Key: []byte("mine"), Value: []byte("op")}}, nil, true)
			if !errors.Is(err, diskErr) || (diskErr == nil && err != nil) {
				t.Fatalf("enqueue: %v, want %v", err, diskErr)
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			if !d.written["mine"] || d.returned != 1 {
				t.Fatal("the waited-for write returned before the store write did")
			}
		})
	}
}

// TestQueueHeldByFramesStillDrains: a frame that never ends (one hold
// after another) cannot make the queue grow without bound: past its bounds
// it is written anyway, and adding waits instead of growing the heap.
func TestQueueHeldByFramesStillDrains(t *testing.T) {
	d := newFakeDisk()
	w := d.writer()
	w.hold()
	for i := range 3 * commitOps {
		kvs, evs := kv(i)
		if err := w.enqueue(kvs, evs, false); err != nil {
			t.Fatal(err)
		}
	}
	w.mu.Lock()
	queued := len(w.queue)
	w.mu.Unlock()
	if queued > 2*commitOps {
		t.Fatalf("%d records queued while held, bound %d", queued, 2*commitOps)
	}
	w.release()
	flush(t, w)
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.events) != 3*commitOps {
		t.Fatalf("%d events, want %d", len(d.events), 3*commitOps)
	}
}

// TestQueuedDeleteHidesAQueuedWrite: deleting a record still in the queue
// answers "deleted" at once and leaves nothing on disk, whatever the order
// the writes run in (a delete beside the queue could be overwritten by the
// queued write of the same record).
func TestQueuedDeleteHidesAQueuedWrite(t *testing.T) {
	d := newFakeDisk()
	w := d.writer()
	w.hold()
	kvs, evs := kv(1)
	if err := w.enqueue(kvs, evs, false); err != nil {
		t.Fatal(err)
	}
	if err := w.enqueue([]store.KV{{Key: []byte("chanop/1"), Delete: true}}, nil, false); err != nil {
		t.Fatal(err)
	}
	if _, deleted, queued := w.get([]byte("chanop/1")); !deleted || !queued {
		t.Fatalf("a queued delete: deleted %v, queued %v; want both", deleted, queued)
	}
	w.release()
	flush(t, w)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.written["chanop/1"] {
		t.Fatal("the deleted record is on disk")
	}
}
