package network

// D-PC Messenger v1 peers (session.Session.V1): where their frames differ
// from dptp/1's, and what they do not send. See dpc-legacy-wire.md §4.6 and
// proto/dptp.md ("Differences from D-PC v1").

import (
	"context"
	"encoding/json"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
)

// onV1Hello takes the post-connect name exchange of the full D-PC client.
func (n *Network) onV1Hello(_ context.Context, s *session.Session, f dptp.Frame) error {
	var h struct {
		Name *string `json:"name"`
	}
	if json.Unmarshal(f.Payload, &h) != nil || h.Name == nil {
		return nil
	}
	if err := dptp.CheckName(*h.Name); err != nil {
		n.log.Info("ignoring the name a D-PC v1 peer sent", "peer", s.PeerID, "error", err)
		return nil
	}
	s.PeerName = *h.Name
	if _, err := n.o.Peers.Update(s.PeerID, func(p *peers.Peer) { p.Name = *h.Name }); err != nil {
		n.log.Error("recording a peer's name", "peer", s.PeerID, "error", err)
	}
	return nil
}
