package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/dpc-go/dpc/hub/internal/cluster"
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
	s *Server
	// id tells this socket from the node's earlier or later ones, also
	// across replicas.
	id      string
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

// goodbye tells the node to reconnect (hint), then closes the socket with
// status 1012 and waits for the close handshake; both are bounded.
func (c *hubConn) goodbye(hint []byte) {
	if !c.markClosed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), goodbyeTimeout)
	_ = c.ws.Write(ctx, websocket.MessageText, hint)
	cancel()
	_ = c.ws.Close(websocket.StatusServiceRestart, "hub shutting down: reconnect")
}

// goodbyeTimeout bounds the reconnect hint's write at shutdown.
const goodbyeTimeout = 2 * time.Second

func newConnID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// close closes the socket once; the close handshake runs in the background
// so that no caller waits on a slow peer.
func (c *hubConn) close(code websocket.StatusCode, reason string) {
	if c.markClosed() {
		go func() { _ = c.ws.Close(code, reason) }()
	}
}

// markClosed marks the connection closed and drops its queue; false when
// it already was.
func (c *hubConn) markClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.closed, c.queue = true, nil
	return true
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
	if s.cfg.Cluster != nil {
		// The replica of an older socket of this node closes it.
		if err := s.cfg.Cluster.Join(ctx, c.nodeID, c.id); err != nil {
			s.log.Warn("recording the node's socket in the cluster failed; other replicas see it once the database is back", "node_id", c.nodeID, "error", err)
		}
	}
	defer func() {
		// Last seen is noted before the node shows offline.
		s.touch(c.nodeID)
		s.conns.remove(c)
		if s.cfg.Cluster != nil {
			if err := s.cfg.Cluster.Leave(context.Background(), c.nodeID, c.id); err != nil {
				s.log.Debug("removing the node's socket from the cluster failed", "node_id", c.nodeID, "error", err)
			}
		}
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
		// The hub, not the client, says who sent it.
		out, err := json.Marshal(serverMessage{Type: "signal", SenderNodeID: c.nodeID, TargetNodeID: m.TargetNodeID, Payload: m.Payload})
		if err != nil {
			c.sendError(codeInvalidMessage, "the signal could not be encoded")
			return
		}
		target := s.conns.get(m.TargetNodeID)
		switch {
		case target != nil:
			if !target.enqueue(out) {
				s.relayFailed(c, m.TargetNodeID, codeRelayFailed, "the target's connection could not take the signal")
				return
			}
		case s.cfg.Cluster == nil:
			s.relayFailed(c, m.TargetNodeID, codeTargetOffline, "target node is not connected to this hub")
			return
		default:
			err := s.cfg.Cluster.Relay(context.Background(), m.TargetNodeID, out)
			if errors.Is(err, cluster.ErrOffline) {
				s.relayFailed(c, m.TargetNodeID, codeTargetOffline, "target node is not connected to this hub")
				return
			}
			if err != nil {
				s.log.Warn("relaying a signal to another replica failed", "error", err)
				s.relayFailed(c, m.TargetNodeID, codeRelayFailed, "the hub cannot reach its other replicas right now (its database is unreachable); retry later")
				return
			}
		}
		s.metrics.relayed.Inc()
	}
}

func (s *Server) relayFailed(c *hubConn, target, code, msg string) {
	s.metrics.relayFailed.WithLabelValues(code).Inc()
	c.send(serverMessage{Type: "error", Code: code, TargetNodeID: target, Message: msg})
}

// DeliverSignal queues a signal relayed by another replica for the local
// socket of target; false when target has none here.
func (s *Server) DeliverSignal(target string, msg []byte) bool {
	conn := s.conns.get(target)
	return conn != nil && conn.enqueue(msg)
}

// CloseReplaced closes the local socket connID of nodeID, which the node
// replaced by a newer one on another replica.
func (s *Server) CloseReplaced(nodeID, connID string) {
	if conn := s.conns.get(nodeID); conn != nil && conn.id == connID {
		s.metrics.replacements.Inc()
		conn.close(websocket.StatusNormalClosure, "replaced by a newer connection of this node")
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
