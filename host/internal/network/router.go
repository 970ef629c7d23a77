package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/session"
)

// handler takes one frame of a session; an error it returns closes the
// session.
type handler func(ctx context.Context, s *session.Session, f dptp.Frame) error

// Router sends each frame a session reads to the handler a service
// registered for its command. Services register before Network.Start;
// registration is not safe while sessions run.
type Router struct {
	log hclog.Logger
	// dptp holds the handlers of dptp/1 commands, which D-PC v1 peers share
	// unless v1 names a variant.
	dptp map[string]handler
	// v1 holds the variants for D-PC v1 peers, whose frames differ.
	v1 map[string]handler
	// v1Answers maps a request command to its answer's, for answers a
	// D-PC v1 peer sends without the request_id.
	v1Answers map[string]string
	// mailbox holds the handlers of commands a capability accepts in a
	// mailbox envelope (HandleMailbox).
	mailbox map[string]mailboxHandler
}

func newRouter(log hclog.Logger) *Router {
	return &Router{log: log, dptp: map[string]handler{}, v1: map[string]handler{}, v1Answers: map[string]string{},
		mailbox: map[string]mailboxHandler{}}
}

// Handle registers fn for the command of T. The router decodes and
// validates each frame once: an invalid payload is answered with ERROR
// bad_request (a D-PC v1 peer gets no answer) and the session goes on; fn
// only sees valid payloads. An error from fn closes the session.
func Handle[T dptp.Payload](r *Router, fn func(ctx context.Context, s *session.Session, msg T) error) {
	var zero T
	r.register(r.dptp, zero.Command(), func(ctx context.Context, s *session.Session, f dptp.Frame) error {
		msg, err := dptp.Decode[T](f)
		if err != nil {
			return r.badRequest(s, f, err)
		}
		return fn(ctx, s, msg)
	})
}

// HandleV1 registers fn for command from D-PC v1 peers, whose payload
// differs from dptp/1's: fn gets the raw frame and decodes it as v1 sends
// it. dptp/1 peers still reach the Handle registration.
func HandleV1(r *Router, command string, fn func(ctx context.Context, s *session.Session, f dptp.Frame) error) {
	r.register(r.v1, command, fn)
}

// V1Answer says that a D-PC v1 peer answers request with answer and no
// request_id: such an answer goes to the oldest request of that kind.
func (r *Router) V1Answer(request, answer string) { r.v1Answers[request] = answer }

func (r *Router) register(m map[string]handler, command string, h handler) {
	if _, dup := m[command]; dup {
		panic("network: two handlers for " + command) // a wiring bug, found at start
	}
	m[command] = h
}

// dispatch routes one frame. A D-PC v1 peer's commands this node does not
// know are ignored, as D-PC itself does (GROUP_SYNC, …); a dptp/1 peer
// gets ERROR unknown_command.
func (r *Router) dispatch(ctx context.Context, s *session.Session, f dptp.Frame) error {
	if s.V1 {
		if h := r.v1[f.Command]; h != nil {
			return h(ctx, s, f)
		}
		if !dptp.Known(f.Command) {
			r.log.Debug("ignoring a D-PC v1 command this node does not handle", "peer", s.PeerID, "command", f.Command)
			return nil
		}
	}
	if h := r.dptp[f.Command]; h != nil {
		return h(ctx, s, f)
	}
	if f.Command == dptp.CmdHello {
		return fmt.Errorf("%w: a second HELLO", dptp.ErrInvalidPayload)
	}
	return s.Send(dptp.CmdError, dptp.ErrorReply{RequestID: requestIDIn(f), Code: dptp.CodeUnknownCommand, RefusedCommand: f.Command,
		Message: "unknown command " + f.Command})
}

// badRequest answers a frame whose payload is invalid; the session goes on.
// A D-PC v1 peer gets no answer: it would not understand one.
func (r *Router) badRequest(s *session.Session, f dptp.Frame, err error) error {
	if s.V1 {
		r.log.Info("ignoring an invalid frame from a D-PC v1 peer", "peer", s.PeerID, "command", f.Command, "error", err)
		return nil
	}
	return s.Send(dptp.CmdError, dptp.ErrorReply{RequestID: requestIDIn(f), Code: dptp.CodeBadRequest, RefusedCommand: f.Command,
		Message: dptp.TruncateReason(err.Error())})
}

// requestIDIn digs the request_id out of a frame this node cannot decode
// otherwise, so that the ERROR answering it ends the sender's request
// instead of leaving it to time out; "" if there is no valid one.
func requestIDIn(f dptp.Frame) string {
	var p struct {
		RequestID string `json:"request_id"`
	}
	if json.Unmarshal(f.Payload, &p) != nil || !dptp.ValidID(p.RequestID) {
		return ""
	}
	return p.RequestID
}

// serve reads the session's frames until it ends.
func (n *Network) serve(l *link, s *session.Session) {
	reason := "closed"
	// ctx ends with the session: work done for the peer stops with it.
	ctx, cancel := context.WithCancel(n.ctx)
	defer func() {
		cancel()
		_ = s.Close()
		l.detach(s, reason)
	}()
	for {
		f, err := s.Read()
		if s.V1 && errors.Is(err, dptp.ErrBadFrame) {
			// A whole frame was read, so the stream is still in step;
			// D-PC v1 keeps the connection after such frames, so do we.
			n.log.Debug("ignoring a malformed frame from a D-PC v1 peer", "peer", s.PeerID, "error", err)
			continue
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				reason = err.Error()
			}
			return
		}
		if f.Command == dptp.CmdBye {
			if b, err := dptp.Decode[dptp.Bye](f); err == nil && b.Reason != "" {
				reason = "peer said bye: " + b.Reason
			}
			return
		}
		if err := n.router.dispatch(ctx, s, f); err != nil {
			n.log.Warn("bad frame from peer; closing the session", "peer", s.PeerID, "command", f.Command, "error", err)
			reason = err.Error()
			return
		}
	}
}

// onError takes a peer's ERROR: it ends the request it answers, if one of
// ours awaits it, and the user hears of it. An unreadable ERROR is logged,
// never answered (two nodes would trade ERRORs forever).
func (n *Network) onError(_ context.Context, s *session.Session, f dptp.Frame) error {
	e, err := dptp.Decode[dptp.ErrorReply](f)
	if err != nil {
		n.log.Warn("unreadable ERROR from peer", "peer", s.PeerID, "error", err)
		return nil
	}
	// A peer whose firewall says no (e.g. it shares no chat history)
	// is doing its job: that is news, not a fault.
	level := hclog.Warn
	if e.Code == dptp.CodePermissionDenied {
		level = hclog.Info
	}
	n.log.Log(level, "peer answered with an error", "peer", s.PeerID, "code", e.Code, "message", e.Message, "request_id", e.RequestID)
	n.o.Bus.Publish(Event{Type: "error", Peer: s.PeerID, Data: e})
	n.deliver(s.PeerID, e)
	return nil
}

// AnswerOrHandle registers T, a command that is either the answer to a
// request of this node (it carries that request's request_id) or a message
// of its own (no request_id): answers go to the request awaiting them, the
// rest to fn. CHANNEL_OPS is both a push and the answer to CHANNEL_WANT.
func AnswerOrHandle[T dptp.Payload](n *Network, fn func(ctx context.Context, s *session.Session, msg T) error) {
	Handle(n.router, func(ctx context.Context, s *session.Session, msg T) error {
		if dptp.RequestIDOf(msg) != "" {
			n.deliver(s.PeerID, msg)
			return nil
		}
		return fn(ctx, s, msg)
	})
}

// Answer registers T as the answer to requests of this node: each one goes
// to the request (Network.Request) that awaits it; one nobody awaits is
// dropped.
func Answer[T dptp.Payload](n *Network) {
	Handle(n.router, func(_ context.Context, s *session.Session, msg T) error {
		n.deliver(s.PeerID, msg)
		return nil
	})
}
