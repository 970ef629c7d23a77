package server

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"
)

// Signaling message types and error codes (API.md).
const (
	codeMissingTarget  = "missing_target"
	codeTargetOffline  = "target_offline"
	codeRelayFailed    = "relay_failed"
	codeUnknownType    = "unknown_message_type"
	codeInvalidMessage = "invalid_message"
	codeRateLimited    = "rate_limited"
)

// serverMessage is every message the hub sends on a signaling socket.
type serverMessage struct {
	Type         string          `json:"type"`
	Message      string          `json:"message,omitempty"`
	NodeID       string          `json:"node_id,omitempty"`
	SenderNodeID string          `json:"sender_node_id,omitempty"`
	TargetNodeID string          `json:"target_node_id,omitempty"`
	Payload      json.RawMessage `json:"payload,omitempty"`
	Timestamp    json.RawMessage `json:"timestamp,omitempty"`
	Code         string          `json:"code,omitempty"`
	RetryAfterMS int64           `json:"retry_after_ms,omitempty"`
	ExpiresAt    *time.Time      `json:"expires_at,omitempty"`
}

// hubConn is one node's signaling socket. Writes go through a bounded queue
// drained by a goroutine that exists only while there is something to send,
// so an idle connection costs one goroutine (its reader).
type hubConn struct {
	s       *Server
	nodeID  string
	family  string
	ws      *websocket.Conn
	limiter *rate.Limiter

	mu      sync.Mutex
	queue   [][]byte
	writing bool
	closed  bool
}

// enqueue queues b for the node; a full queue drops the connection (the
// reader is too slow) and reports false.
func (c *hubConn) enqueue(b []byte) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= c.s.cfg.SendQueue {
		c.mu.Unlock()
		c.s.metrics.slowDropped.Inc()
		c.s.log.Warn("dropping a signaling connection that reads too slowly", "node_id", c.nodeID, "queued", c.s.cfg.SendQueue)
		c.close(websocket.StatusPolicyViolation, "send queue full: reading too slowly")
		return false
	}
	c.queue = append(c.queue, b)
	if !c.writing {
		c.writing = true
		go c.drain()
	}
	c.mu.Unlock()
	return true
}

func (c *hubConn) drain() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.closed {
			c.writing = false
			c.queue = nil
			c.mu.Unlock()
			return
		}
		b := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.WriteTimeout)
		err := c.ws.Write(ctx, websocket.MessageText, b)
		cancel()
		if err != nil {
			c.close(websocket.StatusGoingAway, "write failed")
			return
		}
	}
}

func (c *hubConn) send(m serverMessage) bool {
	b, err := json.Marshal(m)
	if err != nil {
		return false
	}
	return c.enqueue(b)
}

func (c *hubConn) sendError(code, msg string) {
	c.send(serverMessage{Type: "error", Code: code, Message: msg})
}

// close closes the socket once; the close handshake runs in the background
// so that no caller waits on a slow peer.
func (c *hubConn) close(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.queue = nil
	c.mu.Unlock()
	go func() { _ = c.ws.Close(code, reason) }()
}

// registry maps node_ids to their one signaling connection.
type registry struct {
	mu    sync.Mutex
	conns map[string]*hubConn
}

// add registers c and returns the connection it replaces, if any.
func (r *registry) add(c *hubConn) *hubConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.conns[c.nodeID]
	r.conns[c.nodeID] = c
	return old
}

// remove unregisters c if it is still the node's connection.
func (r *registry) remove(c *hubConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns[c.nodeID] == c {
		delete(r.conns, c.nodeID)
	}
}

func (r *registry) get(nodeID string) *hubConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns[nodeID]
}

func (r *registry) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

func (r *registry) all() []*hubConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*hubConn, 0, len(r.conns))
	for _, c := range r.conns {
		out = append(out, c)
	}
	return out
}

// serveSignal runs one authenticated socket until it closes, the token
// expires or the hub shuts down.
func (s *Server) serveSignal(ctx context.Context, c *hubConn, expires time.Time) {
	if old := s.conns.add(c); old != nil {
		s.metrics.replacements.Inc()
		s.log.Debug("a newer connection replaces the older", "node_id", c.nodeID)
		old.close(websocket.StatusNormalClosure, "replaced by a newer connection of this node")
	}
	s.metrics.connections.Inc()
	s.touch(c.nodeID)
	defer func() {
		// Last seen is noted before the node shows offline.
		s.touch(c.nodeID)
		s.conns.remove(c)
		s.metrics.connections.Dec()
		c.close(websocket.StatusNormalClosure, "")
		c.ws.CloseNow()
	}()

	exp := expires.UTC()
	c.send(serverMessage{Type: "auth_ok", Message: "Successfully connected as " + c.nodeID, NodeID: c.nodeID, ExpiresAt: &exp})
	// The socket lives no longer than the token that opened it, and no
	// longer than IdleTimeout without a message. Timers, not goroutines or
	// per-read contexts: the close frame then carries the reason, and an
	// idle socket costs only its reader.
	expiry := time.AfterFunc(time.Until(expires), func() {
		c.close(websocket.StatusPolicyViolation, "access token expired: reconnect with a fresh one")
	})
	defer expiry.Stop()
	idle := time.AfterFunc(s.cfg.IdleTimeout, func() {
		c.close(websocket.StatusPolicyViolation, "idle: send a ping at least every "+s.cfg.IdleTimeout.String())
	})
	defer idle.Stop()
	for {
		typ, b, err := c.ws.Read(ctx)
		if err != nil {
			return
		}
		idle.Reset(s.cfg.IdleTimeout)
		if typ != websocket.MessageText {
			c.sendError(codeInvalidMessage, "signaling messages are JSON text")
			continue
		}
		now := time.Now()
		if r := c.limiter.ReserveN(now, 1); r.DelayFrom(now) > 0 {
			d := r.DelayFrom(now)
			r.CancelAt(now)
			s.metrics.rateLimited.WithLabelValues("signal").Inc()
			c.send(serverMessage{Type: "error", Code: codeRateLimited, RetryAfterMS: d.Milliseconds() + 1,
				Message: "too many signaling messages; retry in " + strconv.FormatInt(d.Milliseconds()+1, 10) + "ms"})
			continue
		}
		s.handleClientMessage(c, b)
	}
}

func (s *Server) handleClientMessage(c *hubConn, b []byte) {
	m, err := decodeClientMessage(b)
	if err != nil {
		switch {
		case errors.Is(err, errUnknownType):
			c.sendError(codeUnknownType, err.Error())
		case m.Type == "signal" && m.TargetNodeID == "":
			c.sendError(codeMissingTarget, "target_node_id is missing")
		default:
			c.sendError(codeInvalidMessage, err.Error())
		}
		return
	}
	switch m.Type {
	case "ping":
		c.send(serverMessage{Type: "pong", Timestamp: m.Timestamp})
	case "signal":
		target := s.conns.get(m.TargetNodeID)
		if target == nil {
			s.metrics.relayFailed.WithLabelValues(codeTargetOffline).Inc()
			c.send(serverMessage{Type: "error", Code: codeTargetOffline, TargetNodeID: m.TargetNodeID, Message: "target node is not connected to this hub"})
			return
		}
		// The hub, not the client, says who sent it.
		out, err := json.Marshal(serverMessage{Type: "signal", SenderNodeID: c.nodeID, TargetNodeID: m.TargetNodeID, Payload: m.Payload})
		if err != nil || !target.enqueue(out) {
			s.metrics.relayFailed.WithLabelValues(codeRelayFailed).Inc()
			c.send(serverMessage{Type: "error", Code: codeRelayFailed, TargetNodeID: m.TargetNodeID, Message: "the target's connection could not take the signal"})
			return
		}
		s.metrics.relayed.Inc()
	}
}

// touch notes that a node was seen now; flushSeen writes the notes in one
// batch, so thousands of connects do not cost thousands of synced writes.
func (s *Server) touch(nodeID string) {
	s.seenMu.Lock()
	s.seen[nodeID] = time.Now().UTC()
	s.seenMu.Unlock()
}

// flushSeen writes the pending last-seen times to the store.
func (s *Server) flushSeen(ctx context.Context) {
	s.seenMu.Lock()
	seen := s.seen
	s.seen = make(map[string]time.Time)
	s.seenMu.Unlock()
	if len(seen) == 0 {
		return
	}
	if err := s.cfg.Store.TouchNodes(ctx, seen); err != nil {
		s.log.Warn("recording last seen failed", "nodes", len(seen), "error", err)
	}
}

// lastSeen returns a node's pending last-seen time, if any.
func (s *Server) pendingSeen(nodeID string) (time.Time, bool) {
	s.seenMu.Lock()
	defer s.seenMu.Unlock()
	t, ok := s.seen[nodeID]
	return t, ok
}
