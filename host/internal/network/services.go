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
	// files
	Handle(r, func(_ context.Context, s *session.Session, o dptp.FileOffer) error { return n.onFileOffer(s, o) })
	Handle(r, func(_ context.Context, s *session.Session, a dptp.FileAccept) error { return n.onFileAccept(s, a) })
	Handle(r, func(_ context.Context, s *session.Session, c dptp.FileChunk) error { return n.onFileChunk(s, c) })
	Handle(r, func(_ context.Context, s *session.Session, c dptp.FileComplete) error { return n.onFileComplete(s, c) })
	Handle(r, func(_ context.Context, s *session.Session, c dptp.FileCancel) error { return n.onFileCancel(s, c) })
	h := Hooks{Connected: func(s *session.Session) {
		if !s.V1 { // D-PC v1 has its own file format
			n.reoffer(s)
		}
	}}
	if n.o.Files != nil {
		h.Run = n.expireLoop
	}
	n.AddHooks(h)
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
