package network

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/dpc-go/dpc/sdk/dpcuri"

	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/session"
)

// historyLimit is how many messages one history sync asks for.
const historyLimit = 500

// admit decides what happens to a message from peer: shown, held as a
// contact request (strangers), or refused (the firewall denies a contact).
func (n *Network) admit(peer string) (chat.State, string) {
	d := n.Check(peer, "messages")
	switch {
	case d.Allowed:
		return chat.StateReceived, ""
	case !n.o.Peers.IsContact(peer):
		return chat.StateRequest, ""
	default:
		n.log.Info("firewall refused a message", "peer", peer, "rule", d.Rule)
		return "", "permission_denied: this node does not accept messages from you"
	}
}

func (n *Network) onText(s *session.Session, t dptp.SendText) error {
	state, refusal := n.admit(s.PeerID)
	if refusal != "" {
		return s.Send(dptp.CmdAck, dptp.Ack{MessageID: t.MessageID, Status: dptp.AckDenied, Reason: refusal})
	}
	m := chat.Message{ID: t.MessageID, Peer: s.PeerID, From: s.PeerID, To: n.self, Text: t.Text,
		SentAt: t.SentAt.Time, State: state}
	var dup bool
	var err error
	if state == chat.StateRequest {
		dup, refusal, err = n.hold(m)
		if refusal != "" {
			return s.Send(dptp.CmdAck, dptp.Ack{MessageID: t.MessageID, Status: dptp.AckDenied, Reason: refusal})
		}
	} else {
		dup, err = n.o.Chat.AddIncoming(m)
	}
	if err != nil {
		// Not stored, so not acknowledged: the sender will retry.
		n.log.Error("storing a message", "peer", s.PeerID, "error", err)
		return nil
	}
	status := dptp.AckStored
	if state == chat.StateRequest {
		status = dptp.AckHeld
	}
	if err := s.Send(dptp.CmdAck, dptp.Ack{MessageID: t.MessageID, Status: status}); err != nil {
		return err
	}
	if dup {
		return nil
	}
	if state == chat.StateRequest {
		n.o.Bus.Publish(Event{Type: "contact_request", Peer: s.PeerID, Data: m})
		return nil
	}
	n.o.Bus.Publish(Event{Type: "message", Peer: s.PeerID, Data: m})
	return nil
}

func (n *Network) onAck(s *session.Session, a dptp.Ack) error {
	st, ok := outgoingState(a.Status)
	if !ok {
		return fmt.Errorf("%w: ACK status %q", dptp.ErrInvalidPayload, a.Status)
	}
	m, err := n.o.Chat.Acknowledge(s.PeerID, n.self, a.MessageID, st, a.Reason)
	if errors.Is(err, chat.ErrNotFound) {
		n.log.Debug("ACK for an unknown message", "peer", s.PeerID, "message_id", a.MessageID)
		return nil
	}
	if err != nil {
		n.log.Error("recording an ACK", "peer", s.PeerID, "error", err)
		return nil
	}
	if st == chat.StateDenied {
		n.log.Warn("peer refused a message", "peer", s.PeerID, "reason", a.Reason)
	}
	n.o.Bus.Publish(Event{Type: "message_state", Peer: s.PeerID, Data: m})
	return nil
}

// requestHistory asks a contact for what we missed while apart, page by
// page, in the background.
func (n *Network) requestHistory(s *session.Session) {
	if !n.o.Peers.IsContact(s.PeerID) {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.syncHistory(s)
	}()
}

// HistorySynced is the data of a "history_synced" event: a history sync
// with the peer ended.
type HistorySynced struct {
	// Taken counts the messages the peer sent (new or not).
	Taken int `json:"taken"`
	// Stored counts the messages new to this node; Restored those of them
	// that the peer says we sent (chat.StateRestored).
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
func (n *Network) syncHistory(s *session.Session) {
	var res HistorySynced
	defer func() {
		n.o.Bus.Publish(Event{Type: "history_synced", Peer: s.PeerID, Data: res})
	}()
	last, err := n.o.Chat.LastFrom(s.PeerID)
	if err != nil {
		n.log.Error("reading history", "peer", s.PeerID, "error", err)
		res.Error = err.Error()
		return
	}
	req := dptp.RequestChatHistory{Limit: historyLimit}
	if !last.SentAt.IsZero() {
		req.Since = dptp.NewTimestamp(last.SentAt)
	}
	for {
		req.RequestID = NewID()
		var resp dptp.ChatHistoryResponse
		ctx, cancel := context.WithTimeout(n.ctx, historyPageWait)
		err := n.RequestOn(ctx, s, req.RequestID, req, func(p dptp.Payload) (bool, error) {
			r, ok := p.(dptp.ChatHistoryResponse)
			if ok {
				resp = r
			}
			return ok, nil
		})
		cancel()
		if err != nil {
			n.log.Info("history sync stopped", "peer", s.PeerID, "error", err)
			res.Error = err.Error()
			return
		}
		stored, restored := n.mergeHistory(s.PeerID, resp.Messages)
		res.Taken, res.Stored, res.Restored = res.Taken+len(resp.Messages), res.Stored+stored, res.Restored+restored
		if !resp.More || len(resp.Messages) == 0 {
			return
		}
		if res.Taken >= historySyncMax {
			n.log.Info("history sync reached its bound; the next one goes on from here", "peer", s.PeerID, "messages", res.Taken)
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
			n.log.Info("history sync cannot go on: the peer's page does not advance", "peer", s.PeerID)
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

func (n *Network) onHistoryRequest(s *session.Session, r dptp.RequestChatHistory) error {
	if d := n.Check(s.PeerID, "history"); !d.Allowed {
		n.log.Info("firewall refused a history request", "peer", s.PeerID, "rule", d.Rule)
		return s.Send(dptp.CmdError, dptp.ErrorReply{RequestID: r.RequestID, Code: dptp.CodePermissionDenied,
			Message: "this node does not share chat history with you"})
	}
	from := chat.SinceCursor(r.Since.Time)
	if r.Cursor != "" {
		from = chat.Cursor(r.Cursor)
	}
	p, err := n.o.Chat.After(s.PeerID, from, min(r.EffectiveLimit(), chat.MaxPageSize))
	if errors.Is(err, chat.ErrBadCursor) {
		return s.Send(dptp.CmdError, dptp.ErrorReply{RequestID: r.RequestID, Code: dptp.CodeBadRequest, RefusedCommand: dptp.CmdRequestChatHistory,
			Message: "cursor: not one this node handed out; start again without it"})
	}
	if err != nil {
		n.log.Error("reading history for a peer", "peer", s.PeerID, "error", err)
		return s.Send(dptp.CmdError, dptp.ErrorReply{RequestID: r.RequestID, Code: dptp.CodeInternal, Message: "history unavailable"})
	}
	resp := dptp.ChatHistoryResponse{RequestID: r.RequestID, More: p.More}
	if s.V1 {
		resp.ConversationID = r.ConversationID
	}
	var sent []chat.Message // the messages in resp, for the cursor
	for _, m := range p.Messages {
		if m.State == chat.StateDenied {
			continue // the peer never accepted it
		}
		sent = append(sent, m)
		resp.Messages = append(resp.Messages, dptp.ChatMessage{MessageID: m.ID, From: m.From, To: m.To, Text: m.Text, SentAt: dptp.NewTimestamp(m.SentAt)})
	}
	resp = resp.TrimToFit(0)
	resp.Cursor = string(p.Next)
	if len(resp.Messages) < len(sent) && len(resp.Messages) > 0 {
		// Trimmed to fit a frame: go on after the last message sent.
		resp.Cursor = string(chat.CursorOf(sent[len(resp.Messages)-1]))
	}
	if s.V1 {
		resp.TotalCount = len(resp.Messages)
		resp.Cursor = ""
	}
	return s.Send(dptp.CmdChatHistoryResponse, resp)
}

// mergeHistory stores a peer's history: only messages between exactly the
// two of us, each once. An entry "from us" that this node does not hold is
// the peer's word alone: it is kept as restored, never as sent.
func (n *Network) mergeHistory(peer string, entries []dptp.ChatMessage) (stored, restored int) {
	msgs := make([]chat.Message, 0, len(entries))
	for _, hm := range entries {
		var m chat.Message
		switch {
		case hm.From == peer && hm.To == n.self:
			state, refusal := n.admit(peer)
			if refusal != "" || state == chat.StateRequest {
				// History is asked of contacts only: a stranger's would
				// be unasked for, and would bypass its request quota.
				continue
			}
			m = chat.Message{State: state}
		case hm.From == n.self && hm.To == peer:
			m = chat.Message{State: chat.StateRestored}
		default:
			n.log.Warn("ignoring a history entry that is not between us", "peer", peer, "from", hm.From, "to", hm.To)
			continue
		}
		m.ID, m.Peer, m.From, m.To, m.Text, m.SentAt = hm.MessageID, peer, hm.From, hm.To, hm.Text, hm.SentAt.Time
		msgs = append(msgs, m)
	}
	// One page, a few disk syncs: not one per message.
	dup, err := n.o.Chat.AddIncomingAll(msgs)
	if err != nil {
		n.log.Error("storing history", "peer", peer, "error", err)
		return 0, 0
	}
	for i, m := range msgs {
		if dup[i] {
			continue
		}
		stored++
		switch m.State {
		case chat.StateRestored:
			restored++
		case chat.StateReceived:
			n.o.Bus.Publish(Event{Type: "message", Peer: peer, Data: m})
		}
	}
	return stored, restored
}

// outgoingState maps a peer's ACK status to our message state.
func outgoingState(status string) (chat.State, bool) {
	switch status {
	case dptp.AckStored:
		return chat.StateDelivered, true
	case dptp.AckHeld:
		return chat.StateHeldByPeer, true
	case dptp.AckDenied:
		return chat.StateDenied, true
	}
	return "", false
}

// maxText is the longest message text, as DPTP allows.
const maxText = 64 << 10

// Send stores a message to peer durably (conversation + outbox) and returns
// it; delivery happens in the background, now or whenever the peer is back.
func (n *Network) Send(to, text string) (chat.Message, error) {
	if to == n.self {
		return chat.Message{}, ErrSelf
	}
	if !dpcuri.ValidNodeID(to) {
		return chat.Message{}, fmt.Errorf("%w: %q is not a node_id", ErrInvalidMessage, to)
	}
	if text == "" || len(text) > maxText || !utf8.ValidString(text) {
		return chat.Message{}, fmt.Errorf("%w: text must be 1 to %d bytes of UTF-8", ErrInvalidMessage, maxText)
	}
	m := chat.Message{ID: NewID(), Peer: to, From: n.self, To: to, Text: text,
		SentAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := n.o.Chat.AddOutgoing(m); err != nil {
		return chat.Message{}, err
	}
	m.State = chat.StateQueued
	n.chatOut.Put(to, outgoingText(m))
	return m, nil
}

// HistoryBefore returns the page of the conversation with peer that ends
// before cursor to ("": the latest page).
func (n *Network) HistoryBefore(peer string, to chat.Cursor, limit int) (chat.Page, error) {
	return n.o.Chat.Before(peer, to, limit)
}

// HistoryAfter returns the page of the conversation with peer that starts
// after cursor from ("": the first page).
func (n *Network) HistoryAfter(peer string, from chat.Cursor, limit int) (chat.Page, error) {
	return n.o.Chat.After(peer, from, limit)
}
