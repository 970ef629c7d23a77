package ping

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/session"
)

// ErrV1 means the peer speaks D-PC v1, which has no PING.
var ErrV1 = errors.New("D-PC v1 peers do not answer PING")

// Service answers PING and measures round trips.
type Service struct{ net *network.Network }

// NewService registers PING and its answer with net (before it starts).
func NewService(net *network.Network) *Service {
	network.Handle(net.Router(), func(_ context.Context, s *session.Session, p dptp.Ping) error {
		//lint:ignore S1016 a PONG carries the request id alone, whatever a PING may carry later.
		return s.Send(dptp.CmdPong, dptp.Pong{RequestID: p.RequestID})
	})
	network.Answer[dptp.Pong](net)
	return &Service{net: net}
}

// RTT measures one round trip to peer on its current session; an offline
// peer is not dialed (network.ErrPeerOffline).
func (p *Service) RTT(ctx context.Context, peer string) (time.Duration, error) {
	s := p.net.Session(peer)
	if s == nil {
		return 0, fmt.Errorf("%w: %s", network.ErrPeerOffline, peer)
	}
	if s.V1 {
		return 0, fmt.Errorf("%w: %s", ErrV1, peer)
	}
	id := network.NewID()
	start := time.Now()
	err := p.net.RequestOn(ctx, s, id, dptp.Ping{RequestID: id}, func(a dptp.Payload) (bool, error) {
		_, ok := a.(dptp.Pong)
		return ok, nil
	})
	if err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
