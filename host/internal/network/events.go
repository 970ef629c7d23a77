package network

import (
	"sync"
	"time"
)

// Event is something the user should see now (the API streams them).
type Event struct {
	Time time.Time `json:"time"`
	// Type: "message", "message_state", "peer", "contact_request", "transfer",
	// "history_synced" (Data: chat.HistorySynced), "plugin" (Data:
	// plugins.Status, on every state change), "hub" (Data: hubsvc.State, on
	// every status change).
	Type string `json:"type"`
	Peer string `json:"peer,omitempty"`
	Data any    `json:"data,omitempty"`
}

// Bus fans events out to subscribers; slow subscribers lose events rather
// than slowing the node down.
type Bus struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: map[chan Event]struct{}{}} }

// Publish sends e to every subscriber that has room.
func (b *Bus) Publish(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// Subscribe returns a channel of events and a function that ends the
// subscription.
func (b *Bus) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 1024)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}
