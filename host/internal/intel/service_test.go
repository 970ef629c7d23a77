package intel_test

import (
	"context"
	"sync"
	"testing"

	"github.com/dpc-go/dpc/host/internal/intel"
	"github.com/dpc-go/dpc/host/internal/llm"
	"github.com/dpc-go/dpc/host/internal/llm/llmtest"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/personal"
)

// mutableContext is a personal context a test changes.
type mutableContext struct {
	mu  sync.Mutex
	doc map[string]any
}

func (m *mutableContext) View() (map[string]any, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.doc, personal.Hash(m.doc)
}

func (m *mutableContext) set(doc map[string]any) {
	m.mu.Lock()
	m.doc = doc
	m.mu.Unlock()
}

// TestContextCacheFollowsUpdates checks the cache by content hash: a copy
// is reused until the owner announces a change that the asker may see;
// a change of a withheld field is not announced; --fresh revalidates.
func TestContextCacheFollowsUpdates(t *testing.T) {
	t.Parallel()
	carolCtx := &mutableContext{doc: map[string]any{"profile": map[string]any{"name": "Carol", "email": "c@example.org"}}}
	const rules = `rule "group" "contacts" { allow = ["messages", "context:profile.name"] }`
	alice := nettest.NewNode(t, nettest.Options{Name: "Alice", Firewall: rules})
	carol := nettest.NewNode(t, nettest.Options{Name: "Carol", Firewall: rules, Intel: func(n *nettest.Node) intel.Answerer {
		return &intel.Responder{Context: carolCtx, Firewall: n.Firewall, Contacts: n.Peers, Models: llm.New(llmtest.Echo(), nil)}
	}})
	nettest.Connect(t, alice, carol)
	ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
	defer cancel()
	name := func(doc map[string]any) any { p, _ := doc["profile"].(map[string]any); return p["name"] }

	first, err := alice.Intel.PeerContext(ctx, carol.ID.NodeID, "q", false)
	if err != nil || first.Cached || name(first.Doc) != "Carol" || len(first.Doc["profile"].(map[string]any)) != 1 {
		t.Fatalf("first ask: want only profile.name, fetched, got %+v %v", first, err)
	}
	again, err := alice.Intel.PeerContext(ctx, carol.ID.NodeID, "q", false)
	if err != nil || !again.Cached || again.Hash != first.Hash {
		t.Fatalf("second ask: want the cached copy, got %+v %v", again, err)
	}

	// A withheld field changes: Alice's view does not, so she is not told.
	// ContextChanged writes any CONTEXT_UPDATED before it returns, so a
	// message Carol sends afterwards reaches Alice after it: by that
	// message's event, Alice has read everything the change sent.
	events, stop := alice.Net.Bus().Subscribe()
	defer stop()
	carolCtx.set(map[string]any{"profile": map[string]any{"name": "Carol", "email": "new@example.org"}})
	carol.Intel.ContextChanged()
	if _, err := carol.Chats.Send(alice.ID.NodeID, "after the withheld change"); err != nil {
		t.Fatal(err)
	}
	for e := nettest.NextEvent(t, events, "context_updated", "message"); e.Type != "message"; e = nettest.NextEvent(t, events, "context_updated", "message") {
		t.Errorf("after a change Alice cannot see: want no CONTEXT_UPDATED, got %+v", e)
	}
	if got, _ := alice.Intel.PeerContext(ctx, carol.ID.NodeID, "q", false); !got.Cached {
		t.Errorf("after a change Alice cannot see: want the cached copy still, got a fetch")
	}
	// Revalidating by hash: unchanged, so served from the copy.
	if got, err := alice.Intel.PeerContext(ctx, carol.ID.NodeID, "q", true); err != nil || !got.Cached || got.Hash != first.Hash {
		t.Errorf("fresh ask of an unchanged view: want it answered 'unchanged', got %+v %v", got, err)
	}

	// A shared field changes: CONTEXT_UPDATED reaches Alice, whose next ask fetches it.
	carolCtx.set(map[string]any{"profile": map[string]any{"name": "Carol B.", "email": "new@example.org"}})
	carol.Intel.ContextChanged()
	nettest.NextEvent(t, events, "context_updated")
	if got, err := alice.Intel.PeerContext(ctx, carol.ID.NodeID, "q", false); err != nil || name(got.Doc) != "Carol B." || got.Cached {
		t.Fatalf("after CONTEXT_UPDATED: want the new name fetched, got %+v %v", got, err)
	}
}
