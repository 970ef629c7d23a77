package chat

// The chat service: SEND_TEXT from the durable outbox until the peer's
// ACK, deduplicated storage of what arrives, contact requests from
// strangers held within quotas, history sync on connect, and the D-PC v1
// shapes of SEND_TEXT and history.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// ErrInvalidMessage means a message the user wrote cannot be sent.
var ErrInvalidMessage = errors.New("invalid message")

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Net    *network.Network
	Store  *Store
	Peers  *peers.Store
	Logger hclog.Logger
}

// Service is the chat capability on the network core.
type Service struct {
	net   *network.Network
	store *Store
	peers *peers.Store
	log   hclog.Logger
	out   *network.Outbox
}

// NewService registers the chat commands, hooks and outbox with o.Net
// (before it starts).
func NewService(o ServiceOptions) *Service {
	c := &Service{net: o.Net, store: o.Store, peers: o.Peers, log: o.Logger.Named("chat")}
	r := c.net.Router()
	// chat
	network.Handle(r, func(_ context.Context, s *session.Session, m dptp.SendText) error { return c.onText(s, m) })
	network.HandleV1(r, dptp.CmdSendText, func(_ context.Context, s *session.Session, f dptp.Frame) error { return c.onV1Text(s, f) })
	network.Handle(r, func(_ context.Context, s *session.Session, a dptp.Ack) error { return c.onAck(s, a) })
	network.Handle(r, func(_ context.Context, s *session.Session, q dptp.RequestChatHistory) error {
		return c.onHistoryRequest(s, q)
	})
	network.Answer[dptp.ChatHistoryResponse](c.net)
	c.out = c.net.NewOutbox(outbox{c})
	c.net.AddHooks(network.Hooks{
		Connected: func(s *session.Session) {
			if !s.V1 { // D-PC v1 asks for history itself, and this node answers
				c.requestHistory(s)
			}
		},
		Accepted: c.releaseHeld,
		Forgotten: func(id string) {
			held, err := c.store.DeleteRequests(id)
			if err != nil {
				c.log.Error("deleting a stranger's contact requests", "peer", id, "error", err)
				return
			}
			c.log.Info("deleted a forgotten stranger's contact requests", "peer", id, "requests_deleted", held)
		},
	})
	return c
}

// historyLimit is how many messages one history sync asks for.
const historyLimit = 500

// admit decides what happens to a message from peer: shown, held as a
// contact request (strangers), or refused (the firewall denies a contact).
func (c *Service) admit(peer string) (State, string) {
	d := c.net.Check(peer, "messages")
	switch {
	case d.Allowed:
		return StateReceived, ""
	case !c.peers.IsContact(peer):
		return StateRequest, ""
	default:
		c.log.Info("firewall refused a message", "peer", peer, "rule", d.Rule)
		return "", "permission_denied: this node does not accept messages from you"
	}
}

func (c *Service) onText(s *session.Session, t dptp.SendText) error {
	state, refusal := c.admit(s.PeerID)
	if refusal != "" {
		return s.Send(dptp.CmdAck, dptp.Ack{MessageID: t.MessageID, Status: dptp.AckDenied, Reason: refusal})
	}
	m := Message{ID: t.MessageID, Peer: s.PeerID, From: s.PeerID, To: c.net.Self(), Text: t.Text,
		SentAt: t.SentAt.Time, State: state}
	var dup bool
	var err error
	if state == StateRequest {
		dup, refusal, err = c.hold(m)
		if refusal != "" {
			return s.Send(dptp.CmdAck, dptp.Ack{MessageID: t.MessageID, Status: dptp.AckDenied, Reason: refusal})
		}
	} else {
		dup, err = c.store.AddIncoming(m)
	}
	if err != nil {
		// Not stored, so not acknowledged: the sender will retry.
		c.log.Error("storing a message", "peer", s.PeerID, "error", err)
		return nil
	}
	status := dptp.AckStored
	if state == StateRequest {
		status = dptp.AckHeld
	}
	if err := s.Send(dptp.CmdAck, dptp.Ack{MessageID: t.MessageID, Status: status}); err != nil {
		return err
	}
	if dup {
		return nil
	}
	if state == StateRequest {
		c.net.Bus().Publish(network.Event{Type: "contact_request", Peer: s.PeerID, Data: m})
		return nil
	}
	c.net.Bus().Publish(network.Event{Type: "message", Peer: s.PeerID, Data: m})
	return nil
}

func (c *Service) onAck(s *session.Session, a dptp.Ack) error {
	st, ok := outgoingState(a.Status)
	if !ok {
		return fmt.Errorf("%w: ACK status %q", dptp.ErrInvalidPayload, a.Status)
	}
	m, err := c.store.Acknowledge(s.PeerID, c.net.Self(), a.MessageID, st, a.Reason)
	if errors.Is(err, ErrNotFound) {
		c.log.Debug("ACK for an unknown message", "peer", s.PeerID, "message_id", a.MessageID)
		return nil
	}
	if err != nil {
		c.log.Error("recording an ACK", "peer", s.PeerID, "error", err)
		return nil
	}
	if st == StateDenied {
		c.log.Warn("peer refused a message", "peer", s.PeerID, "reason", a.Reason)
	}
	c.net.Bus().Publish(network.Event{Type: "message_state", Peer: s.PeerID, Data: m})
	return nil
}

// requestHistory asks a contact for what we missed while apart, page by
// page, in the background.
func (c *Service) requestHistory(s *session.Session) {
	if !c.peers.IsContact(s.PeerID) {
		return
	}
	c.net.Go(func(ctx context.Context) { c.syncHistory(ctx, s) })
}

// HistorySynced is the data of a "history_synced" event: a history sync
// with the peer ended.
type HistorySynced struct {
	// Taken counts the messages the peer sent (new or not).
	Taken int `json:"taken"`
	// Stored counts the messages new to this node; Restored those of them
	// that the peer says we sent (StateRestored).
	Stored   int `json:"stored"`
	Restored int `json:"restored"`
	// Error says why the sync stopped early, if it did.
	Error string `json:"error,omitempty"`
}

// syncHistory asks s's peer for the messages after the newest one it sent
// that this node holds, a page at a time, following the peer's cursor
// while it has more, up to historySyncMax messages (the next sync goes on
// from there). Only answers to these requests, on this session, are read:
// a CHAT_HISTORY_RESPONSE nobody asked for is dropped (see deliver).
func (c *Service) syncHistory(ctx context.Context, s *session.Session) {
	var res HistorySynced
	defer func() {
		c.net.Bus().Publish(network.Event{Type: "history_synced", Peer: s.PeerID, Data: res})
	}()
	last, err := c.store.LastFrom(s.PeerID)
	if err != nil {
		c.log.Error("reading history", "peer", s.PeerID, "error", err)
		res.Error = err.Error()
		return
	}
	req := dptp.RequestChatHistory{Limit: historyLimit}
	if !last.SentAt.IsZero() {
		req.Since = dptp.NewTimestamp(last.SentAt)
	}
	for {
		req.RequestID = network.NewID()
		var resp dptp.ChatHistoryResponse
		pctx, cancel := context.WithTimeout(ctx, historyPageWait)
		err := c.net.RequestOn(pctx, s, req.RequestID, req, func(p dptp.Payload) (bool, error) {
			r, ok := p.(dptp.ChatHistoryResponse)
			if ok {
				resp = r
			}
			return ok, nil
		})
		cancel()
		if err != nil {
			c.log.Info("history sync stopped", "peer", s.PeerID, "error", err)
			res.Error = err.Error()
			return
		}
		stored, restored := c.mergeHistory(s.PeerID, resp.Messages)
		res.Taken, res.Stored, res.Restored = res.Taken+len(resp.Messages), res.Stored+stored, res.Restored+restored
		if !resp.More || len(resp.Messages) == 0 {
			return
		}
		if res.Taken >= historySyncMax {
			c.log.Info("history sync reached its bound; the next one goes on from here", "peer", s.PeerID, "messages", res.Taken)
			return
		}
		if resp.Cursor != "" {
			req.Cursor = resp.Cursor
			continue
		}
		// A peer without cursors: go on from the last sent_at (dedup
		// removes the overlap), unless that would ask for the same page.
		next := resp.Messages[len(resp.Messages)-1].SentAt
		if !next.Time.After(req.Since.Time) {
			c.log.Info("history sync cannot go on: the peer's page does not advance", "peer", s.PeerID)
			return
		}
		req.Since = next
	}
}

// historySyncMax bounds the messages one history sync takes; historyPageWait
// bounds the wait for one page.
const (
	historySyncMax  = 20 * historyLimit
	historyPageWait = time.Minute
)

func (c *Service) onHistoryRequest(s *session.Session, r dptp.RequestChatHistory) error {
	if d := c.net.Check(s.PeerID, "history"); !d.Allowed {
		c.log.Info("firewall refused a history request", "peer", s.PeerID, "rule", d.Rule)
		return s.Send(dptp.CmdError, dptp.ErrorReply{RequestID: r.RequestID, Code: dptp.CodePermissionDenied,
			Message: "this node does not share chat history with you"})
	}
	from := SinceCursor(r.Since.Time)
	if r.Cursor != "" {
		from = Cursor(r.Cursor)
	}
	p, err := c.store.After(s.PeerID, from, min(r.EffectiveLimit(), MaxPageSize))
	if errors.Is(err, ErrBadCursor) {
		return s.Send(dptp.CmdError, dptp.ErrorReply{RequestID: r.RequestID, Code: dptp.CodeBadRequest, RefusedCommand: dptp.CmdRequestChatHistory,
			Message: "cursor: not one this node handed out; start again without it"})
	}
	if err != nil {
		c.log.Error("reading history for a peer", "peer", s.PeerID, "error", err)
		return s.Send(dptp.CmdError, dptp.ErrorReply{RequestID: r.RequestID, Code: dptp.CodeInternal, Message: "history unavailable"})
	}
	resp := dptp.ChatHistoryResponse{RequestID: r.RequestID, More: p.More}
	if s.V1 {
		resp.ConversationID = r.ConversationID
	}
	var sent []Message // the messages in resp, for the cursor
	for _, m := range p.Messages {
		if m.State == StateDenied {
			continue // the peer never accepted it
		}
		sent = append(sent, m)
		resp.Messages = append(resp.Messages, dptp.ChatMessage{MessageID: m.ID, From: m.From, To: m.To, Text: m.Text, SentAt: dptp.NewTimestamp(m.SentAt)})
	}
	resp = resp.TrimToFit(0)
	resp.Cursor = string(p.Next)
	if len(resp.Messages) < len(sent) && len(resp.Messages) > 0 {
		// Trimmed to fit a frame: go on after the last message sent.
		resp.Cursor = string(CursorOf(sent[len(resp.Messages)-1]))
	}
	if s.V1 {
		total := len(resp.Messages)
		resp.TotalCount = &total
		resp.Cursor = ""
	}
	return s.Send(dptp.CmdChatHistoryResponse, resp)
}

// mergeHistory stores a peer's history: only messages between exactly the
// two of us, each once. An entry "from us" that this node does not hold is
// the peer's word alone: it is kept as restored, never as sent.
func (c *Service) mergeHistory(peer string, entries []dptp.ChatMessage) (stored, restored int) {
	msgs := make([]Message, 0, len(entries))
	for _, hm := range entries {
		var m Message
		switch {
		case hm.From == peer && hm.To == c.net.Self():
			state, refusal := c.admit(peer)
			if refusal != "" || state == StateRequest {
				// History is asked of contacts only: a stranger's would
				// be unasked for, and would bypass its request quota.
				continue
			}
			m = Message{State: state}
		case hm.From == c.net.Self() && hm.To == peer:
			m = Message{State: StateRestored}
		default:
			c.log.Warn("ignoring a history entry that is not between us", "peer", peer, "from", hm.From, "to", hm.To)
			continue
		}
		m.ID, m.Peer, m.From, m.To, m.Text, m.SentAt = hm.MessageID, peer, hm.From, hm.To, hm.Text, hm.SentAt.Time
		msgs = append(msgs, m)
	}
	// One page, a few disk syncs: not one per message.
	dup, err := c.store.AddIncomingAll(msgs)
	if err != nil {
		c.log.Error("storing history", "peer", peer, "error", err)
		return 0, 0
	}
	for i, m := range msgs {
		if dup[i] {
			continue
		}
		stored++
		switch m.State {
		case StateRestored:
			restored++
		case StateReceived:
			c.net.Bus().Publish(network.Event{Type: "message", Peer: peer, Data: m})
		}
	}
	return stored, restored
}

// outgoingState maps a peer's ACK status to our message state.
func outgoingState(status string) (State, bool) {
	switch status {
	case dptp.AckStored:
		return StateDelivered, true
	case dptp.AckHeld:
		return StateHeldByPeer, true
	case dptp.AckDenied:
		return StateDenied, true
	}
	return "", false
}

// maxText is the longest message text, as DPTP allows.
const maxText = 64 << 10

// Send stores a message to peer durably (conversation + outbox) and returns
// it; delivery happens in the background, now or whenever the peer is back.
func (c *Service) Send(to, text string) (Message, error) {
	if to == c.net.Self() {
		return Message{}, network.ErrSelf
	}
	if !dpcuri.ValidNodeID(to) {
		return Message{}, fmt.Errorf("%w: %q is not a node_id", ErrInvalidMessage, to)
	}
	if text == "" || len(text) > maxText || !utf8.ValidString(text) {
		return Message{}, fmt.Errorf("%w: text must be 1 to %d bytes of UTF-8", ErrInvalidMessage, maxText)
	}
	m := Message{ID: network.NewID(), Peer: to, From: c.net.Self(), To: to, Text: text,
		SentAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := c.store.AddOutgoing(m); err != nil {
		return Message{}, err
	}
	m.State = StateQueued
	c.out.Put(to, outgoingText(m))
	return m, nil
}

// HistoryBefore returns the page of the conversation with peer that ends
// before cursor to ("": the latest page).
func (c *Service) HistoryBefore(peer string, to Cursor, limit int) (Page, error) {
	return c.store.Before(peer, to, limit)
}

// HistoryAfter returns the page of the conversation with peer that starts
// after cursor from ("": the first page).
func (c *Service) HistoryAfter(peer string, from Cursor, limit int) (Page, error) {
	return c.store.After(peer, from, limit)
}

// Refusal reasons a stranger reads in the ACK of a message it may not
// leave.
const (
	reasonRequestQuota     = "quota_exceeded: this node holds at most %d messages (%d KiB) from someone who is not a contact until its user accepts you; wait for that"
	reasonTooManyStrangers = "quota_exceeded: this node holds too many contact requests from strangers right now; try again later or ask its user to add you"
)

// hold stores m, a stranger's message, as a contact request within the
// quotas; refusal is the ACK reason when it is not stored for a quota.
func (c *Service) hold(m Message) (dup bool, refusal string, err error) {
	if !c.peers.Known(m.Peer) {
		return false, reasonTooManyStrangers, nil
	}
	q := Quota{Messages: c.net.StrangerLimits().RequestMessages, Bytes: c.net.StrangerLimits().RequestBytes}
	dup, err = c.store.AddRequest(m, q)
	if errors.Is(err, ErrQuota) {
		c.log.Info("refused a contact request over its quota", "peer", m.Peer, "reason", err)
		return false, fmt.Sprintf(reasonRequestQuota, q.Messages, q.Bytes>>10), nil
	}
	return dup, "", err
}

// v1MessageID is the id D-PC gives a message it receives, since v1 sends
// none: the first 16 hex of SHA-256("sender:text:milliseconds").
func v1MessageID(sender, text string, at time.Time) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s:%s:%d", sender, text, at.UnixMilli()))
	return hex.EncodeToString(sum[:8])
}

// onV1Text stores a v1 SEND_TEXT ({text} only). A v1 peer expects no ACK.
func (c *Service) onV1Text(s *session.Session, f dptp.Frame) error {
	var p struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(f.Payload, &p); err != nil || p.Text == "" || len(p.Text) > dptp.MaxTextLen || !utf8.ValidString(p.Text) {
		c.log.Info("ignoring an unreadable SEND_TEXT from a D-PC v1 peer", "peer", s.PeerID)
		return nil
	}
	state, refusal := c.admit(s.PeerID)
	if refusal != "" {
		return nil // D-PC v1 has no way to hear a refusal
	}
	now := time.Now().UTC()
	m := Message{ID: v1MessageID(s.PeerID, p.Text, now), Peer: s.PeerID, From: s.PeerID, To: c.net.Self(), Text: p.Text,
		SentAt: now, State: state}
	var dup bool
	var err error
	if state == StateRequest {
		dup, refusal, err = c.hold(m)
	} else {
		dup, err = c.store.AddIncoming(m)
	}
	switch {
	case refusal != "":
		c.log.Info("dropping a D-PC v1 stranger's message over its quota (v1 has no way to hear a refusal)", "peer", s.PeerID)
	case err != nil:
		c.log.Error("storing a message", "peer", s.PeerID, "error", err)
	case dup:
	case state == StateRequest:
		c.net.Bus().Publish(network.Event{Type: "contact_request", Peer: s.PeerID, Data: m})
	default:
		c.net.Bus().Publish(network.Event{Type: "message", Peer: s.PeerID, Data: m})
	}
	return nil
}

// outbox is the chat store's outbox, as the network sends it.
type outbox struct{ c *Service }

func (o outbox) Pending(peer string) ([]network.Outgoing, error) {
	msgs, err := o.c.store.Outbox(peer, o.c.net.Self())
	if err != nil {
		return nil, err
	}
	out := make([]network.Outgoing, len(msgs))
	for i, m := range msgs {
		out[i] = outgoingText(m)
	}
	return out, nil
}

func (o outbox) Written(s *session.Session, it network.Outgoing) {
	if s.V1 {
		// A v1 peer sends no ACK: written on its session is as far as
		// delivery can be known.
		_ = o.c.onAck(s, dptp.Ack{MessageID: it.ID, Status: dptp.AckStored})
	}
}

func outgoingText(m Message) network.Outgoing {
	return network.Outgoing{ID: m.ID, Payload: dptp.SendText{MessageID: m.ID, Text: m.Text, SentAt: dptp.NewTimestamp(m.SentAt)}}
}

// releaseHeld shows the messages a stranger's contact request held, page by
// page (a stranger may have sent many), and tells the sender they are
// delivered.
func (c *Service) releaseHeld(node string) error {
	var err error
	for pg := (Page{More: true}); pg.More; {
		if pg, err = c.store.After(node, pg.Next, MaxPageSize); err != nil {
			return err
		}
		for _, m := range pg.Messages {
			if m.State != StateRequest {
				continue
			}
			if err := c.store.SetState(node, m.From, m.ID, StateReceived); err != nil {
				return err
			}
			m.State = StateReceived
			c.net.Bus().Publish(network.Event{Type: "message", Peer: node, Data: m})
			// Tell the sender its message is now really delivered.
			c.net.SendTo(node, dptp.CmdAck, dptp.Ack{MessageID: m.ID, Status: dptp.AckStored})
		}
	}
	return nil
}
