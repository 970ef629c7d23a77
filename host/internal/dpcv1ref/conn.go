package dpcv1ref

import (
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Conn is one established Direct-TLS connection, on either side.
type Conn struct {
	p         *Peer
	tc        *tls.Conn
	nodeID    string
	name      string
	accepted  bool
	handshake Frame

	wmu       sync.Mutex
	done      chan struct{}
	closeOnce sync.Once
}

func newConn(p *Peer, tc *tls.Conn, nodeID, name string, accepted bool, handshake Frame) *Conn {
	return &Conn{p: p, tc: tc, nodeID: nodeID, name: name, accepted: accepted, handshake: handshake, done: make(chan struct{})}
}

// PeerNodeID is the remote node_id (from its HELLO, or the one dialled).
func (c *Conn) PeerNodeID() string { return c.nodeID }

// PeerName is the remote display name from its HELLO or HELLO_ACK; "" when
// it sent null.
func (c *Conn) PeerName() string { return c.name }

// Accepted reports whether this side accepted the connection (the server).
func (c *Conn) Accepted() bool { return c.accepted }

// Handshake is the remote side's handshake frame: the HELLO it sent when
// this side accepted, the HELLO_ACK when this side dialled.
func (c *Conn) Handshake() Frame { return c.handshake }

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Send sends {"command": command, "payload": payload} in json.dumps style;
// a nil payload leaves the "payload" key out, as GET_PROVIDERS does.
func (c *Conn) Send(command string, payload map[string]any) error {
	o := object{{"command", command}}
	if payload != nil {
		o = append(o, field{"payload", payload})
	}
	return c.sendValue(o)
}

// SendRaw sends body, whatever it is, behind a 10-digit header.
func (c *Conn) SendRaw(body []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return WriteFrame(c.tc, body)
}

// SendUnframed writes b exactly as given, with no header, for tests of
// malformed framing (a non-digit header, a truncated frame, …).
func (c *Conn) SendUnframed(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.tc.Write(b)
	return err
}

// Close closes the connection (with a TLS close_notify, as Python's
// writer.close does) and waits until its reader has stopped.
func (c *Conn) Close() error {
	err := c.tc.Close()
	<-c.done
	return err
}

func (c *Conn) sendValue(v any) error {
	body, err := PythonJSON(v)
	if err != nil {
		return err
	}
	return c.SendRaw(body)
}

func (c *Conn) shutdown() { _ = c.tc.Close() }

func (c *Conn) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func writeValue(w io.Writer, v any) error {
	body, err := PythonJSON(v)
	if err != nil {
		return err
	}
	return WriteFrame(w, body)
}

// readLoop is _listen_to_peer (§4.6): read frames until EOF or a bad frame,
// record each and hand it to its own goroutine.
func (c *Conn) readLoop() {
	p := c.p
	defer func() {
		_ = c.tc.Close()
		c.closeOnce.Do(func() { close(c.done) })
		p.connEnded(c)
	}()
	for {
		body, err := ReadFrame(c.tc, MaxFrameSize)
		if err != nil {
			p.logf("connection with %s ended: %v", c.nodeID, err)
			return
		}
		v, err := decodeJSON(body)
		if err != nil {
			p.logf("protocol error from %s: invalid message format (%v); closing", c.nodeID, err)
			return
		}
		if v == nil {
			// json.loads("null") is None, which read_message's caller takes
			// for the end of the stream.
			p.logf("null frame from %s ends the listener", c.nodeID)
			return
		}
		f := Frame{From: c.nodeID, Raw: body}
		if m, ok := v.(map[string]any); ok {
			f.Object = m
			f.Command, _ = m["command"].(string)
			f.Payload, _ = m["payload"].(map[string]any)
		}
		if f.Command == "CONTEXT_RESPONSE" {
			if f.ContextErr = ParseContext(f.Payload["context"]); f.ContextErr != nil {
				p.logf("%v", f.ContextErr)
			}
		}
		p.record(f)
		if !p.goTracked(func() { p.dispatch(c.nodeID, v) }) {
			return
		}
	}
}

// knownCommands are the 52 commands the full client registers (§4.6).
// Those without a handler here are recorded and otherwise ignored; anything
// else is logged as an unknown command.
var knownCommands = map[string]bool{}

func init() {
	for _, c := range strings.Fields(`APPLY_KNOWLEDGE_COMMIT CHAT_HISTORY_RESPONSE COMMIT_ACK
		COMMIT_SIGNED CONTEXT_RESPONSE CONTEXT_UPDATED DEVICE_CONTEXT_RESPONSE FILE_ACCEPT FILE_CANCEL FILE_CHUNK
		FILE_CHUNK_RETRY FILE_COMPLETE FILE_OFFER GET_PROVIDERS GOSSIP_MESSAGE GOSSIP_SYNC GROUP_CREATE
		GROUP_DELETE GROUP_DELETED_STATUS GROUP_HISTORY_REQUEST GROUP_HISTORY_RESPONSE GROUP_HISTORY_STATUS
		GROUP_LEAVE GROUP_SYNC GROUP_TEXT HELLO KNOWLEDGE_COMMIT_RESULT NEW_SESSION_RESULT
		PROPOSE_KNOWLEDGE_COMMIT PROPOSE_NEW_SESSION PROVIDERS_RESPONSE RELAY_DISCONNECT RELAY_MESSAGE
		RELAY_READY RELAY_REGISTER RELAY_WAITING REMOTE_INFERENCE_REQUEST REMOTE_INFERENCE_RESPONSE
		REMOTE_TRANSCRIPTION_REQUEST REMOTE_TRANSCRIPTION_RESPONSE REQUEST_CHAT_HISTORY REQUEST_CONTEXT
		REQUEST_DEVICE_CONTEXT SEND_TEXT SKILLS_CATALOG SKILL_DATA SKILL_OFFER SKILL_REQUEST SKILL_SEARCH
		VOICE_TRANSCRIPTION VOTE_KNOWLEDGE_COMMIT VOTE_NEW_SESSION`) {
		knownCommands[c] = true
	}
}

// dispatch is on_message_received → MessageRouter for one frame (§4.6,
// dpc-messenger-facts §2.4). Replies go to the newest connection to the
// sender, as send_message_to_peer does.
func (p *Peer) dispatch(from string, v any) {
	msg, ok := v.(map[string]any)
	if !ok {
		p.logf("error handling message from %s: AttributeError: %T has no attribute 'get' (ignored, connection kept)", from, v)
		return
	}
	cmd, _ := msg["command"].(string)
	if !knownCommands[cmd] {
		p.logf("Unknown P2P message command: %v", msg["command"])
		return
	}
	payload := map[string]any{}
	if raw, present := msg["payload"]; present {
		if payload, ok = raw.(map[string]any); !ok {
			p.logf("error handling %s from %s: payload is a %T", cmd, from, raw)
			return
		}
	}
	var reply object
	switch cmd {
	case "SEND_TEXT":
		p.logf("text from %s: %v", from, payload["text"])
		return
	case "REQUEST_CONTEXT":
		reply = object{{"command", "CONTEXT_RESPONSE"}, {"payload", object{
			{"request_id", payload["request_id"]},
			{"context", p.contextPayload()},
			{"query", payload["query"]},
		}}}
	case "GET_PROVIDERS":
		providers := make([]any, 0, len(p.opts.Providers))
		for _, pr := range p.opts.Providers {
			providers = append(providers, ordered(pr, "alias", "model", "type", "supports_vision", "supports_voice", "context_window"))
		}
		reply = object{{"command", "PROVIDERS_RESPONSE"}, {"payload", object{{"providers", providers}}}}
	case "REMOTE_INFERENCE_REQUEST":
		reply = object{{"command", "REMOTE_INFERENCE_RESPONSE"}, {"payload", p.inference(payload)}}
	case "REQUEST_CHAT_HISTORY":
		reply = object{{"command", "CHAT_HISTORY_RESPONSE"}, {"payload", object{
			{"conversation_id", payload["conversation_id"]},
			{"request_id", payload["request_id"]},
			{"messages", []any{}},
			{"total_count", 0},
		}}}
	default:
		p.logf("%s from %s recorded (no reply)", cmd, from)
		return
	}
	c := p.current(from)
	if c == nil {
		p.logf("cannot answer %s: %s is no longer connected", cmd, from)
		return
	}
	if err := c.sendValue(reply); err != nil {
		p.logf("could not answer %s to %s: %v", cmd, from, err)
	}
}

// contextPayload is the CONTEXT_RESPONSE "context": Options.Context, or the
// asdict(PersonalContext) of a peer with no rules (§4.6).
func (p *Peer) contextPayload() any {
	if p.opts.Context != nil {
		return ordered(p.opts.Context, "profile", "knowledge", "preferences", "cognitive_profile", "version",
			"last_commit_id", "last_commit_message", "last_commit_timestamp", "commit_history", "metadata")
	}
	return object{
		{"profile", nil},
		{"knowledge", map[string]any{}},
		{"preferences", nil},
		{"cognitive_profile", nil},
		{"version", nil},
		{"last_commit_id", nil},
		{"last_commit_message", nil},
		{"last_commit_timestamp", nil},
		{"commit_history", []any{}},
		{"metadata", map[string]any{}},
	}
}

// inference is the REMOTE_INFERENCE_RESPONSE payload (facts §2.4): success
// with Options.Answer and word-count token figures, or an error when the
// peer has no Answer.
func (p *Peer) inference(req map[string]any) object {
	if p.opts.Answer == "" {
		return object{
			{"request_id", req["request_id"]},
			{"status", "error"},
			{"error", "Compute sharing is not available on this node"},
		}
	}
	model, _ := req["model"].(string)
	if model == "" {
		model = "llama3.1:8b"
	}
	provider, _ := req["provider"].(string)
	if provider == "" {
		provider = "ollama_text"
	}
	prompt, _ := req["prompt"].(string)
	pt, rt := len(strings.Fields(prompt)), len(strings.Fields(p.opts.Answer))
	return object{
		{"request_id", req["request_id"]},
		{"status", "success"},
		{"response", p.opts.Answer},
		{"tokens_used", pt + rt},
		{"prompt_tokens", pt},
		{"response_tokens", rt},
		{"model", model},
		{"provider", provider},
	}
}

// sendUnsolicited sends what the full client sends on a new connection
// besides GET_PROVIDERS (§4.6): REQUEST_CHAT_HISTORY once per node, a
// GROUP_SYNC, and (not a Python behaviour, a robustness probe) a JSON list.
func (p *Peer) sendUnsolicited(c *Conn) {
	p.mu.Lock()
	ask := !p.historyAsked[c.nodeID]
	p.historyAsked[c.nodeID] = true
	p.mu.Unlock()
	if ask {
		err := c.sendValue(object{{"command", "REQUEST_CHAT_HISTORY"}, {"payload", object{
			{"conversation_id", c.nodeID},
			{"request_id", uuid4()},
		}}})
		if err != nil {
			p.logf("unsolicited REQUEST_CHAT_HISTORY to %s: %v", c.nodeID, err)
			return
		}
	}
	err := c.sendValue(object{{"command", "GROUP_SYNC"}, {"payload", object{
		{"group_id", "group-" + uuid4()},
		{"name", "dpcv1ref group"},
		{"topic", ""},
		{"created_by", p.id.NodeID},
		{"members", []any{p.id.NodeID, c.nodeID}},
		{"version", 1},
		{"agents", []any{}},
		{"agent_names", map[string]any{}},
	}}})
	if err != nil {
		p.logf("unsolicited GROUP_SYNC to %s: %v", c.nodeID, err)
		return
	}
	if err := c.SendRaw([]byte("[1, 2]")); err != nil {
		p.logf("unsolicited non-object frame to %s: %v", c.nodeID, err)
	}
}

// uuid4 is Python's str(uuid.uuid4()).
func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
