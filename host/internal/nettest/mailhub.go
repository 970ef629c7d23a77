package nettest

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/pluginhost"
)

// MailHub is a hub's mailbox for nodes built with Options.Hub: an envelope
// left for a node waits until that node fetches and acknowledges it, and
// the node gets the hub's {"type":"mailbox"} hint on its signaling stream,
// as from a real hub. It stores what it is given and reads nothing.
type MailHub struct {
	mu    sync.Mutex
	boxes map[string][]sdk.MailboxEnvelope
	hints map[string]chan struct{}
	next  int
	acked int
}

// NewMailHub returns an empty hub.
func NewMailHub() *MailHub {
	return &MailHub{boxes: map[string][]sdk.MailboxEnvelope{}, hints: map[string]chan struct{}{}}
}

// Put leaves envelope for node, as MailboxPut does for a sender, and
// hints node that it arrived.
func (h *MailHub) Put(node string, envelope []byte) string {
	id := h.Leave(node, envelope)
	h.mu.Lock()
	hint := h.hintLocked(node)
	h.mu.Unlock()
	select {
	case hint <- struct{}{}:
	default: // a hint is pending already
	}
	return id
}

// Leave leaves envelope for node without a hint, as a hub does when the
// node has no signaling socket: it is fetched at the next login or
// periodic fetch.
func (h *MailHub) Leave(node string, envelope []byte) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	id := strconv.Itoa(h.next)
	h.boxes[node] = append(h.boxes[node], sdk.MailboxEnvelope{ID: id, Envelope: slices.Clone(envelope), Received: time.Now().UTC()})
	return id
}

// Held returns the envelopes waiting for node.
func (h *MailHub) Held(node string) []sdk.MailboxEnvelope {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.boxes[node])
}

// Acked is how many envelopes nodes have acknowledged so far.
func (h *MailHub) Acked() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.acked
}

func (h *MailHub) hintLocked(node string) chan struct{} {
	c := h.hints[node]
	if c == nil {
		c = make(chan struct{}, 1)
		h.hints[node] = c
	}
	return c
}

// hubPluginID is the hub plugin's id on a node built with Options.Hub.
const hubPluginID = "hub/test"

// plugins is hubsvc.Plugins with node's view of the hub as its hub plugin.
type hubPlugins struct{ hub *mailHubPlugin }

func (p hubPlugins) OfKind(k sdk.Kind) []string {
	if k == sdk.KindHub {
		return []string{hubPluginID}
	}
	return nil
}

func (p hubPlugins) Client(id string) (*pluginhost.Client, bool) {
	return &pluginhost.Client{Hub: p.hub}, id == hubPluginID
}

func (p hubPlugins) DeliverHubSignal(context.Context, sdk.Signal) int { return 0 }

// mailHubPlugin is one node's hub plugin on a MailHub. Calls the mailbox
// does not make are left to the nil sdk.Hub (they would panic: a test
// that needs them needs another fake).
type mailHubPlugin struct {
	sdk.Hub
	h    *MailHub
	node string
}

func (p *mailHubPlugin) login() sdk.LoginResult {
	return sdk.LoginResult{NodeID: p.node, Session: sdk.HubSession{Data: []byte("test"), Expires: time.Now().Add(time.Hour)}}
}

func (p *mailHubPlugin) Login(context.Context) (sdk.LoginResult, error) { return p.login(), nil }

func (p *mailHubPlugin) Resume(context.Context, sdk.ResumeRequest) (sdk.LoginResult, error) {
	return p.login(), nil
}

func (p *mailHubPlugin) Logout(context.Context) error { return nil }

func (p *mailHubPlugin) PublishPresence(context.Context, sdk.PublishPresenceRequest) error {
	return nil
}

func (p *mailHubPlugin) Signals(ctx context.Context, fn func(sdk.IncomingSignal) error) error {
	p.h.mu.Lock()
	hint := p.h.hintLocked(p.node)
	p.h.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-hint:
			if err := fn(sdk.IncomingSignal{Type: sdk.SignalTypeMailbox}); err != nil {
				return err
			}
		}
	}
}

func (p *mailHubPlugin) MailboxPut(_ context.Context, req sdk.MailboxPutRequest) (sdk.MailboxPutResult, error) {
	return sdk.MailboxPutResult{EnvelopeID: p.h.Put(req.RecipientNodeID, req.Envelope)}, nil
}

func (p *mailHubPlugin) MailboxFetch(_ context.Context, req sdk.MailboxFetchRequest) (sdk.MailboxFetchResult, error) {
	p.h.mu.Lock()
	defer p.h.mu.Unlock()
	box := p.h.boxes[p.node]
	if req.Limit > 0 && len(box) > req.Limit {
		box = box[:req.Limit]
	}
	return sdk.MailboxFetchResult{Envelopes: slices.Clone(box)}, nil
}

func (p *mailHubPlugin) MailboxAck(_ context.Context, req sdk.MailboxAckRequest) error {
	p.h.mu.Lock()
	defer p.h.mu.Unlock()
	before := len(p.h.boxes[p.node])
	p.h.boxes[p.node] = slices.DeleteFunc(p.h.boxes[p.node], func(e sdk.MailboxEnvelope) bool { return slices.Contains(req.EnvelopeIDs, e.ID) })
	p.h.acked += before - len(p.h.boxes[p.node])
	return nil
}
