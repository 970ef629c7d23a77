package network

import (
	"context"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/session"
)

// registerServices wires the chat, files and intel handlers into the
// router, hooks and outbox.
func (n *Network) registerServices() {
	r := n.router
	// intel
	Handle(r, func(_ context.Context, s *session.Session, q dptp.RequestContext) error {
		return n.onContextRequest(s, q)
	})
	Handle(r, func(ctx context.Context, s *session.Session, q dptp.GetProviders) error {
		n.onProvidersRequest(ctx, s, q)
		return nil
	})
	Handle(r, n.onInferenceRequest)
	Handle(r, func(_ context.Context, s *session.Session, u dptp.ContextUpdated) error {
		n.onContextUpdated(s, u)
		return nil
	})
	Answer[dptp.ContextResponse](n)
	Answer[dptp.ProvidersResponse](n)
	Answer[dptp.RemoteInferenceChunk](n)
	Answer[dptp.RemoteInferenceResponse](n)
	r.V1Answer(dptp.CmdGetProviders, dptp.CmdProvidersResponse)
	n.AddHooks(Hooks{Disconnected: n.forgetSession, Contact: func(string) { n.ContextChanged() }})
}
