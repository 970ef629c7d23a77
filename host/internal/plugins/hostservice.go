package plugins

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/sdk"
)

// signingPurposes lists, per kind, what a plugin may ask the host to sign.
// Everything else is refused: a plugin can never get a signature usable for
// another protocol or purpose.
var signingPurposes = map[sdk.Kind][]string{
	sdk.KindHub: {sdk.PurposeHubLogin},
}

// What a plugin may do through the host service beyond what every plugin
// may (read the node's public identity, report events, signal other
// plugins). The checks below and what `dpc plugin status` and the web UI
// show both come from kindGrants, so they cannot disagree.
const (
	// GrantHubRelay: send signals to other nodes through the node's hub
	// and get its STUN/TURN servers.
	GrantHubRelay = "hub-relay"
	// GrantHubSession: have the host keep its hub session (encrypted).
	GrantHubSession = "hub-session"
	// GrantSignPrefix + a purpose: have the node key sign for it.
	GrantSignPrefix = "sign:"
)

// baseGrants are what every plugin may do.
var baseGrants = []string{"identity", "events", "signals"}

// kindGrants lists, per kind, what it may do beyond baseGrants.
var kindGrants = map[sdk.Kind][]string{
	sdk.KindTransport: {GrantHubRelay},
	sdk.KindHub:       {GrantHubSession},
}

// Grants is what a plugin of kind may do through the host service, for the
// user to see: baseGrants, the kind's own, and a sign:PURPOSE per signing
// purpose it may use.
func Grants(kind sdk.Kind) []string {
	out := append(append([]string{}, baseGrants...), kindGrants[kind]...)
	for _, p := range signingPurposes[kind] {
		out = append(out, GrantSignPrefix+p)
	}
	return out
}

// hostService is the sdk.Host one plugin calls back into.
type hostService struct {
	m    *Manager
	self string
	kind sdk.Kind
	log  hclog.Logger
}

var _ sdk.Host = (*hostService)(nil)

func (h *hostService) Sign(_ context.Context, purpose string, data []byte) (sdk.Signature, error) {
	if !slices.Contains(signingPurposes[h.kind], purpose) {
		h.log.Warn("refused a signing request", "purpose", purpose)
		return sdk.Signature{}, fmt.Errorf("%w: a %s plugin may not request signatures for %q", sdk.ErrPermissionDenied, h.kind, purpose)
	}
	sig, alg, signed, err := h.m.o.Signer.SignDomain(purpose, data)
	if err != nil {
		return sdk.Signature{}, err
	}
	return sdk.Signature{Signature: sig, Algorithm: alg, SignedMessage: signed}, nil
}

func (h *hostService) Identity(context.Context) (sdk.HostIdentity, error) { return h.m.o.Identity, nil }

func (h *hostService) RouteSignal(ctx context.Context, s sdk.Signal) error {
	s.From = h.self // the host, not the plugin, says who sent it
	if s.To == sdk.SignalViaHub {
		hub, err := h.hubRelay("send signals to other nodes")
		if err != nil {
			return err
		}
		return hub.SendSignal(ctx, sdk.SendSignalRequest{TargetNodeID: s.PeerNodeID, Type: s.Type, Payload: s.Payload})
	}
	target, ok := h.m.Client(s.To)
	if !ok {
		return fmt.Errorf("%w: %w %q", sdk.ErrNotFound, ErrUnknownPlugin, s.To)
	}
	return target.HandleSignal(ctx, s)
}

// IceServers hands a transport the STUN/TURN servers of the node's hub.
func (h *hostService) IceServers(ctx context.Context) ([]sdk.IceServer, error) {
	hub, err := h.hubRelay("ask for ICE servers")
	if err != nil {
		return nil, err
	}
	return hub.IceServers(ctx)
}

// hubRelay is the node's hub, for a transport only.
func (h *hostService) hubRelay(what string) (HubRelay, error) {
	if !slices.Contains(kindGrants[h.kind], GrantHubRelay) {
		return nil, fmt.Errorf("%w: only transports may %s through the hub, not a %s plugin", sdk.ErrPermissionDenied, what, h.kind)
	}
	if h.m.o.Hub == nil {
		return nil, fmt.Errorf("%w: this host has no hub to %s through", sdk.ErrUnavailable, what)
	}
	return h.m.o.Hub, nil
}

func (h *hostService) EmitEvent(_ context.Context, e sdk.Event) error {
	args := []any{"type", e.Type}
	for k, v := range e.Attributes {
		args = append(args, k, v)
	}
	switch e.Level {
	case sdk.EventError:
		h.log.Error(e.Message, args...)
	case sdk.EventWarning:
		h.log.Warn(e.Message, args...)
	default:
		h.log.Info(e.Message, args...)
	}
	ev := Event{Time: time.Now(), Plugin: h.self, Type: e.Type, Level: levelName(e.Level), Message: e.Message, Attributes: e.Attributes}
	h.m.events.add(ev)
	if h.m.o.OnEvent != nil {
		h.m.o.OnEvent(ev)
	}
	return nil
}

// SaveHubSession hands a hub plugin's session to the keeper (the hub
// service), under the plugin's own id: a plugin can only ever replace its
// own session. Other kinds have none to save; a manager without a keeper
// says so, and the plugin logs in again after a restart.
func (h *hostService) SaveHubSession(_ context.Context, s sdk.HubSession) error {
	if !slices.Contains(kindGrants[h.kind], GrantHubSession) {
		return fmt.Errorf("%w: a %s plugin has no hub session to save", sdk.ErrPermissionDenied, h.kind)
	}
	if h.m.o.HubSessions == nil {
		return fmt.Errorf("%w: this host does not keep hub sessions across restarts", sdk.ErrUnsupported)
	}
	return h.m.o.HubSessions.SaveHubSession(h.self, s)
}

func levelName(l sdk.EventLevel) string {
	switch l {
	case sdk.EventError:
		return "error"
	case sdk.EventWarning:
		return "warning"
	default:
		return "info"
	}
}

// Event is something a plugin reported to the user.
type Event struct {
	Time       time.Time         `json:"time"`
	Plugin     string            `json:"plugin"`
	Type       string            `json:"type"`
	Level      string            `json:"level"`
	Message    string            `json:"message"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// eventLogSize is how many recent events the host keeps in memory.
const eventLogSize = 200

// eventLog is a bounded ring of recent events.
type eventLog struct {
	mu  sync.Mutex
	buf []Event
	max int
}

func newEventLog(max int) *eventLog { return &eventLog{max: max} }

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) == l.max {
		l.buf = l.buf[1:]
	}
	l.buf = append(l.buf, e)
}

func (l *eventLog) list() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.buf)
}

// hubSignalTimeout bounds the hand-over of one signal to one transport, so
// that a stuck plugin cannot hold up the hub's signaling stream.
const hubSignalTimeout = 5 * time.Second

// DeliverHubSignal hands s, a signal that came through the hub, to every
// running transport that dials by node_id (sdk.CapabilityDialByNodeID), in
// the caller's order; it returns how many took it.
func (m *Manager) DeliverHubSignal(ctx context.Context, s sdk.Signal) int {
	n := 0
	for _, id := range m.OfKind(sdk.KindTransport) {
		c, ok := m.Client(id)
		if !ok || !slices.Contains(c.Info.Capabilities, sdk.CapabilityDialByNodeID) {
			continue
		}
		n++
		hctx, cancel := context.WithTimeout(ctx, hubSignalTimeout)
		err := c.HandleSignal(hctx, s)
		cancel()
		if err != nil {
			m.log.Warn("a transport refused a signal from the hub", "transport", id, "from", s.PeerNodeID, "type", s.Type, "error", err)
		}
	}
	return n
}
