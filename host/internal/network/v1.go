package network

// D-PC Messenger v1 peers (session.Session.V1): where their frames differ
// from dptp/1's, and what they do not send. See dpc-legacy-wire.md §4.6 and
// proto/dptp.md ("Differences from D-PC v1").

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
)

// handleV1 takes the frames of a v1 peer that differ from dptp/1's; handled
// is false for the ones the common handlers take.
func (n *Network) handleV1(s *session.Session, f dptp.Frame) (handled bool, err error) {
	switch f.Command {
	case dptp.CmdSendText:
		return true, n.onV1Text(s, f)
	case dptp.CmdHello:
		// The post-connect name exchange of the full D-PC client.
		var h struct {
			Name *string `json:"name"`
		}
		if json.Unmarshal(f.Payload, &h) != nil || h.Name == nil {
			return true, nil
		}
		if err := dptp.CheckName(*h.Name); err != nil {
			n.log.Info("ignoring the name a D-PC v1 peer sent", "peer", s.PeerID, "error", err)
			return true, nil
		}
		s.PeerName = *h.Name
		if _, err := n.o.Peers.Update(s.PeerID, func(p *peers.Peer) { p.Name = *h.Name }); err != nil {
			n.log.Error("recording a peer's name", "peer", s.PeerID, "error", err)
		}
		return true, nil
	}
	if !dptp.Known(f.Command) {
		// D-PC answers unknown commands with silence and keeps the
		// connection; so does this node for a v1 peer (GROUP_SYNC, …).
		n.log.Debug("ignoring a D-PC v1 command this node does not handle", "peer", s.PeerID, "command", f.Command)
		return true, nil
	}
	return false, nil
}

// v1MessageID is the id D-PC gives a message it receives, since v1 sends
// none: the first 16 hex of SHA-256("sender:text:milliseconds").
func v1MessageID(sender, text string, at time.Time) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s:%s:%d", sender, text, at.UnixMilli()))
	return hex.EncodeToString(sum[:8])
}

// onV1Text stores a v1 SEND_TEXT ({text} only). A v1 peer expects no ACK.
func (n *Network) onV1Text(s *session.Session, f dptp.Frame) error {
	var p struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(f.Payload, &p); err != nil || p.Text == "" || len(p.Text) > dptp.MaxTextLen || !utf8.ValidString(p.Text) {
		n.log.Info("ignoring an unreadable SEND_TEXT from a D-PC v1 peer", "peer", s.PeerID)
		return nil
	}
	state, refusal := n.admit(s.PeerID)
	if refusal != "" {
		return nil // D-PC v1 has no way to hear a refusal
	}
	now := time.Now().UTC()
	m := chat.Message{ID: v1MessageID(s.PeerID, p.Text, now), Peer: s.PeerID, From: s.PeerID, To: n.self, Text: p.Text,
		SentAt: now, State: state}
	dup, err := n.o.Chat.AddIncoming(m)
	switch {
	case err != nil:
		n.log.Error("storing a message", "peer", s.PeerID, "error", err)
	case dup:
	case state == chat.StateRequest:
		n.o.Bus.Publish(Event{Type: "contact_request", Peer: s.PeerID, Data: m})
	default:
		n.o.Bus.Publish(Event{Type: "message", Peer: s.PeerID, Data: m})
	}
	return nil
}

// v1ContextLayout is what D-PC v1 sends for a peer with no rules: every
// top-level field of its Personal Context Model, empty. A v1 peer expects
// them all; what the firewall shares is laid over it.
func v1ContextLayout(shared map[string]any) map[string]any {
	out := map[string]any{
		"profile": nil, "knowledge": map[string]any{}, "preferences": nil, "cognitive_profile": nil,
		"version": nil, "last_commit_id": nil, "last_commit_message": nil, "last_commit_timestamp": nil,
		"commit_history": []any{}, "metadata": map[string]any{},
	}
	for k, v := range shared {
		out[k] = v
	}
	return out
}

// withoutEmpty drops the empty top-level fields of a v1 peer's context
// (null, {}, []), so that a context sharing nothing is empty.
func withoutEmpty(doc map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range doc {
		switch v := v.(type) {
		case nil:
			continue
		case map[string]any:
			if len(v) == 0 {
				continue
			}
		case []any:
			if len(v) == 0 {
				continue
			}
		}
		out[k] = v
	}
	return out
}

// v1Prompt is a prompt as D-PC v1 sends it: one string, the context and
// instructions first, then "USER QUERY: …".
func v1Prompt(msgs []dptp.PromptMessage) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteString("\n\n")
		}
		switch m.Role {
		case "user":
			b.WriteString("USER QUERY: " + m.Content)
		case "assistant":
			b.WriteString("ASSISTANT: " + m.Content)
		default:
			b.WriteString(m.Content)
		}
	}
	return b.String()
}

// v1Answers maps a request command to the command of its answer, for
// answers a v1 peer sends without the request_id (PROVIDERS_RESPONSE).
var v1Answers = map[string]string{dptp.CmdGetProviders: dptp.CmdProvidersResponse}
