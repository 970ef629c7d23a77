package hubsvc

import (
	"context"
	"fmt"

	"github.com/dpc-go/dpc/sdk"
)

// deliver hands a signal that came through the hub to the transports that
// dial by node_id, in arrival order (an offer before its candidates). The
// sender is the hub's claim; the transports' peers prove who they are in
// the host's TLS handshake.
func (s *Service) deliver(ctx context.Context, in sdk.IncomingSignal) {
	if in.Type == sdk.SignalTypeMailbox && in.SenderNodeID == "" {
		// The hub's own hint, not a peer's signal: fetch the mailbox. One
		// a peer relayed (it names a sender) goes the way of any signal.
		if s.o.Mailbox != nil {
			s.o.Mailbox()
		}
		return
	}
	s.mu.Lock()
	p := s.plugins
	s.mu.Unlock()
	if p == nil {
		return
	}
	sig := sdk.Signal{From: sdk.SignalViaHub, Type: in.Type, Payload: in.Payload, PeerNodeID: in.SenderNodeID}
	if p.DeliverHubSignal(ctx, sig) == 0 {
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
