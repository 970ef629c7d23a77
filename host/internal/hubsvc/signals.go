package hubsvc

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// signalTimeout bounds the hand-over of one incoming signal to a
// transport, so that a stuck plugin cannot hold up the hub's stream.
const signalTimeout = 5 * time.Second

// deliver hands a signal that came through the hub to every running
// transport that dials by node_id, in arrival order (an offer before its
// candidates). The sender is the hub's claim; the transports' peers prove
// who they are in the host's TLS handshake.
func (s *Service) deliver(ctx context.Context, in sdk.IncomingSignal) {
	s.mu.Lock()
	p := s.plugins
	s.mu.Unlock()
	if p == nil {
		return
	}
	sig := sdk.Signal{From: sdk.SignalViaHub, Type: in.Type, Payload: in.Payload, PeerNodeID: in.SenderNodeID}
	delivered := false
	for _, id := range p.OfKind(sdk.KindTransport) {
		c, ok := p.Client(id)
		if !ok || !slices.Contains(c.Info.Capabilities, sdk.CapabilityDialByNodeID) {
			continue
		}
		delivered = true
		hctx, cancel := context.WithTimeout(ctx, signalTimeout)
		err := c.HandleSignal(hctx, sig)
		cancel()
		if err != nil {
			s.log.Warn("a transport refused a signal from the hub", "transport", id, "from", in.SenderNodeID, "type", in.Type, "error", err)
		}
	}
	if !delivered {
		s.log.Debug("no transport takes signals from the hub; dropped", "from", in.SenderNodeID, "type", in.Type)
	}
}

// SendSignal sends a transport's signal to another node through the hub
// login (plugins.HubRelay).
func (s *Service) SendSignal(ctx context.Context, req sdk.SendSignalRequest) error {
	h, err := s.loggedIn()
	if err != nil {
		return fmt.Errorf("%w: %w", sdk.ErrUnavailable, err)
	}
	return h.SendSignal(ctx, req)
}

// IceServers returns the hub's STUN/TURN servers (plugins.HubRelay).
func (s *Service) IceServers(ctx context.Context) ([]sdk.IceServer, error) {
	h, err := s.loggedIn()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", sdk.ErrUnavailable, err)
	}
	return h.IceServers(ctx)
}
