package network

import (
	"context"

	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/session"
)

// registerServices wires the chat, files and intel handlers into the
// router, hooks and outbox.
func (n *Network) registerServices() {
	r := n.router
	// chat
	Handle(r, func(_ context.Context, s *session.Session, m dptp.SendText) error { return n.onText(s, m) })
	HandleV1(r, dptp.CmdSendText, func(_ context.Context, s *session.Session, f dptp.Frame) error { return n.onV1Text(s, f) })
	Handle(r, func(_ context.Context, s *session.Session, a dptp.Ack) error { return n.onAck(s, a) })
	Handle(r, func(_ context.Context, s *session.Session, q dptp.RequestChatHistory) error {
		return n.onHistoryRequest(s, q)
	})
	Answer[dptp.ChatHistoryResponse](n)
	n.chatOut = n.NewOutbox(chatOutbox{n})
	n.AddHooks(Hooks{
		Connected: func(s *session.Session) {
			if !s.V1 { // D-PC v1 asks for history itself, and this node answers
				n.requestHistory(s)
			}
		},
		Accepted: n.releaseHeld,
		Forgotten: func(id string) {
			held, err := n.o.Chat.DeleteRequests(id)
			if err != nil {
				n.log.Error("deleting a stranger's contact requests", "peer", id, "error", err)
				return
			}
			n.log.Info("deleted a forgotten stranger's contact requests", "peer", id, "requests_deleted", held)
		},
	})
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

// chatOutbox is the chat store's outbox.
type chatOutbox struct{ n *Network }

func (c chatOutbox) Pending(peer string) ([]Outgoing, error) {
	msgs, err := c.n.o.Chat.Outbox(peer, c.n.self)
	if err != nil {
		return nil, err
	}
	out := make([]Outgoing, len(msgs))
	for i, m := range msgs {
		out[i] = outgoingText(m)
	}
	return out, nil
}

func (c chatOutbox) Written(s *session.Session, it Outgoing) {
	if s.V1 {
		// A v1 peer sends no ACK: written on its session is as far as
		// delivery can be known.
		_ = c.n.onAck(s, dptp.Ack{MessageID: it.ID, Status: dptp.AckStored})
	}
}

func outgoingText(m chat.Message) Outgoing {
	return Outgoing{ID: m.ID, Payload: dptp.SendText{MessageID: m.ID, Text: m.Text, SentAt: dptp.NewTimestamp(m.SentAt)}}
}

// releaseHeld shows the messages a stranger's contact request held, page by
// page (a stranger may have sent many), and tells the sender they are
// delivered.
func (n *Network) releaseHeld(node string) error {
	var err error
	for pg := (chat.Page{More: true}); pg.More; {
		if pg, err = n.o.Chat.After(node, pg.Next, chat.MaxPageSize); err != nil {
			return err
		}
		for _, m := range pg.Messages {
			if m.State != chat.StateRequest {
				continue
			}
			if err := n.o.Chat.SetState(node, m.From, m.ID, chat.StateReceived); err != nil {
				return err
			}
			m.State = chat.StateReceived
			n.o.Bus.Publish(Event{Type: "message", Peer: node, Data: m})
			// Tell the sender its message is now really delivered.
			n.SendTo(node, dptp.CmdAck, dptp.Ack{MessageID: m.ID, Status: dptp.AckStored})
		}
	}
	return nil
}
