package hubdpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// Reconnect backoff: full jitter, a random wait between 0 and
// min(backoffMax, backoffBase·2^attempt), so that the nodes of a hub that
// restarts do not all come back at the same instant.
const (
	backoffBase = 250 * time.Millisecond
	backoffMax  = 30 * time.Second
)

// pingEvery keeps the socket inside dpc-hub's 2-minute idle limit.
const pingEvery = 30 * time.Second

// authTimeout bounds the wait for the hub's auth_ok after the upgrade.
const authTimeout = 30 * time.Second

// reconnectHint is the hub asking the node to come back (a replica shutting
// down, contract "Graceful shutdown hint"): Signals reconnects after a
// random wait in [0, after], spreading the nodes of that replica, and does
// not count it as a failure.
type reconnectHint struct{ after time.Duration }

func (h reconnectHint) Error() string {
	return fmt.Sprintf("the hub asked to reconnect within %s (a hub replica is shutting down)", h.after)
}

// hintWait bounds the hub's retry_after_ms to [0, backoffMax].
func hintWait(ms int64) time.Duration {
	if ms <= 0 {
		return 0
	}
	if ms >= backoffMax.Milliseconds() {
		return backoffMax
	}
	return time.Duration(ms) * time.Millisecond
}

// spread returns a random wait in [0, ceil]; tests set p.randWait to see
// the bound and skip the wait.
func (p *Plugin) spread(ceil time.Duration) time.Duration {
	if p.randWait != nil {
		return p.randWait(ceil)
	}
	return rand.N(ceil + 1)
}

// backoff returns the wait before reconnect attempt n (0-based).
func backoff(n int) time.Duration {
	ceil := backoffMax
	if n < 16 && backoffBase<<n < backoffMax {
		ceil = backoffBase << n
	}
	return rand.N(ceil + 1)
}

// Signals holds the signaling socket open and passes every relayed signal
// to fn, until ctx ends, fn fails, the login ends or another connection of
// this node takes over. A lost socket (the hub restarts, the network
// drops) is reopened with backoff, with a refreshed access token when it
// is about to expire; the host sees hub.connected and hub.disconnected
// events.
func (p *Plugin) Signals(ctx context.Context, fn func(sdk.IncomingSignal) error) error {
	attempt := 0
	for {
		connected, err := p.signalOnce(ctx, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var fnErr fnError
		if errors.As(err, &fnErr) {
			return fnErr.err
		}
		// An account the hub requires only comes with the user running
		// dpc hub link: the host shows why and tries again later.
		if errors.Is(err, ErrNotLoggedIn) || errors.Is(err, ErrSessionEnded) || errors.Is(err, ErrReplaced) ||
			errors.Is(err, sdk.ErrNotConfigured) || errors.Is(err, ErrAccountRequired) {
			return err
		}
		if connected {
			attempt = 0
		}
		if errors.Is(err, errAccessExpired) {
			continue
		}
		_, log, _ := p.config.Get()
		var wait time.Duration
		var hint reconnectHint
		if errors.As(err, &hint) {
			wait = p.spread(hint.after)
			if log != nil {
				log.Info("the hub asked to reconnect (a hub replica is shutting down); reconnecting", "in", wait.Round(time.Millisecond).String())
			}
		} else {
			wait = backoff(attempt)
			attempt++
			if log != nil {
				log.Warn("signaling stream lost; reconnecting", "error", err, "in", wait.Round(time.Millisecond).String())
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// fnError marks an error of the caller's fn, which ends Signals.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// signalOnce opens one socket and reads it until it fails; connected says
// whether the hub accepted it.
func (p *Plugin) signalOnce(ctx context.Context, fn func(sdk.IncomingSignal) error) (connected bool, err error) {
	s, base, err := p.authed(ctx)
	if err != nil {
		return false, err
	}
	conn, err := p.dialSignal(ctx, base, s.access)
	var he *HubError
	if errors.As(err, &he) && he.Status == http.StatusUnauthorized {
		// Expired or revoked under us: one refresh tells which.
		if s, err = p.refresh(ctx, s.access); err != nil {
			return false, err
		}
		conn, err = p.dialSignal(ctx, base, s.access)
	}
	if err != nil {
		return false, err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(maxSignalBytes + 1024)

	authCtx, cancel := context.WithTimeout(ctx, authTimeout)
	_, raw, err := conn.Read(authCtx)
	cancel()
	if err != nil {
		return false, fmt.Errorf("%w: the hub at %s sent no greeting: %w", sdk.ErrUnavailable, base, err)
	}
	hello, _, err := decodeWSMessage(raw)
	if err != nil || hello.Type != "auth_ok" || hello.NodeID != s.nodeID {
		return false, fmt.Errorf("%w: the hub at %s did not accept the signaling socket as %s (got %q): %v",
			ErrBadResponse, base, s.nodeID, clip(string(raw), 200), err)
	}
	p.mu.Lock()
	p.conn = conn
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		if p.conn == conn {
			p.conn = nil
		}
		p.mu.Unlock()
	}()
	p.emit(ctx, sdk.Event{Type: EventConnected, Level: sdk.EventInfo, Message: "connected to the hub",
		Attributes: map[string]string{"hub": base, "node_id": s.nodeID}})

	pingCtx, stopPing := context.WithCancel(ctx)
	defer stopPing()
	go ping(pingCtx, conn)

	err = p.readSignals(ctx, conn, fn)
	if errors.Is(err, errAccessExpired) {
		// The hub ends every socket with its token: refresh and come back
		// at once, without telling the host the hub went away.
		if _, rerr := p.refresh(ctx, s.access); rerr != nil {
			return true, rerr
		}
		return true, err
	}
	var hint reconnectHint
	if ctx.Err() == nil && errors.As(err, &hint) {
		// The node is offline until it reconnects, but nothing failed:
		// an info, not a warning, from every node of the replica.
		p.emit(ctx, sdk.Event{Type: EventDisconnected, Level: sdk.EventInfo, Message: "the hub is restarting; reconnecting",
			Attributes: map[string]string{"hub": base, "reason": hint.Error()}})
		return true, err
	}
	if ctx.Err() == nil {
		var fe fnError
		if !errors.As(err, &fe) {
			p.emit(ctx, sdk.Event{Type: EventDisconnected, Level: sdk.EventWarning, Message: "lost the hub's signaling stream",
				Attributes: map[string]string{"hub": base, "reason": clip(err.Error(), 200)}})
		}
	}
	return true, err
}

// dialSignal opens /ws/signal with the access token.
func (p *Plugin) dialSignal(ctx context.Context, base, access string) (*websocket.Conn, error) {
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws/signal"
	conn, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{
		HTTPClient: httpClient,
		HTTPHeader: http.Header{"Authorization": {"Bearer " + access}},
	})
	if err == nil {
		return conn, nil
	}
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		// coder/websocket keeps the first KiB of the body: enough for the
		// hub's {"error","detail"} (account_required, say).
		var body []byte
		if resp.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
		}
		he := decodeHubError(http.MethodGet, "/ws/signal", resp.StatusCode, resp.Header, body)
		if he.Code == http.StatusText(resp.StatusCode) {
			he.Detail = err.Error() // not a hub error body: the status is what counts
		}
		return nil, refusal(he)
	}
	return nil, fmt.Errorf("%w: cannot open the signaling stream at %s: %w", sdk.ErrUnavailable, wsURL, err)
}

// readSignals reads until the socket fails.
func (p *Plugin) readSignals(ctx context.Context, conn *websocket.Conn, fn func(sdk.IncomingSignal) error) error {
	_, log, _ := p.config.Get()
	for {
		_, raw, err := conn.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusPolicyViolation {
				var cerr websocket.CloseError
				if errors.As(err, &cerr) && strings.Contains(cerr.Reason, "access token expired") {
					return errAccessExpired
				}
			}
			if websocket.CloseStatus(err) == websocket.StatusServiceRestart {
				// A restart without the hint (lost, or an older hub): spread
				// the reconnects over the widest wait.
				return reconnectHint{after: backoffMax}
			}
			if ce := websocket.CloseStatus(err); ce == websocket.StatusNormalClosure {
				var cerr websocket.CloseError
				if errors.As(err, &cerr) && strings.Contains(cerr.Reason, "replaced") {
					return fmt.Errorf("%w (%w)", ErrReplaced, sdk.ErrUnavailable)
				}
				if errors.As(err, &cerr) && strings.Contains(cerr.Reason, "logged out") {
					return fmt.Errorf("%w (%w): the hub closed the stream: logged out", ErrNotLoggedIn, sdk.ErrPermissionDenied)
				}
			}
			return fmt.Errorf("%w: signaling stream: %w", sdk.ErrUnavailable, err)
		}
		m, typ, err := decodeWSMessage(raw)
		if err != nil {
			if log != nil {
				log.Warn("dropped a malformed message from the hub", "error", err)
			}
			continue
		}
		switch m.Type {
		case "signal":
			if err := fn(sdk.IncomingSignal{SenderNodeID: m.SenderNodeID, Type: typ, Payload: m.Payload}); err != nil {
				return fnError{err}
			}
		case sdk.SignalTypeMailbox:
			// The hub's arrival hint: no sender, no payload.
			if err := fn(sdk.IncomingSignal{Type: sdk.SignalTypeMailbox}); err != nil {
				return fnError{err}
			}
		case "reconnect":
			// The hub closes with 1012 right after; no need to read it.
			return reconnectHint{after: hintWait(m.RetryAfterMS)}
		case "error":
			if log != nil {
				log.Warn("the hub refused a signal", "code", clip(m.Code, 64), "target", clip(m.TargetNodeID, 64), "message", clip(m.Message, 200))
			}
			p.emit(ctx, sdk.Event{Type: EventSignalError, Level: sdk.EventWarning, Message: clip(m.Message, 200),
				Attributes: map[string]string{"code": clip(m.Code, 64), "target_node_id": clip(m.TargetNodeID, 64)}})
		}
	}
}

// ping keeps the socket from idling out until ctx ends.
func ping(ctx context.Context, conn *websocket.Conn) {
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			msg, _ := json.Marshal(wsMessage{Type: "ping", Timestamp: json.RawMessage(fmt.Sprint(now.Unix()))})
			if conn.Write(ctx, websocket.MessageText, msg) != nil {
				return
			}
		}
	}
}

// SendSignal relays a signal over the stream Signals holds open (dpc-hub
// keeps one socket per node). req.Payload must be a JSON object, as the hub
// relays; req.Type becomes its "type" member (D-PC's convention:
// {"type":"offer","offer":{…}}). The hub's refusals (target offline…) come
// back later as hub.signal_error events.
func (p *Plugin) SendSignal(ctx context.Context, req sdk.SendSignalRequest) error {
	if !dpcuri.ValidNodeID(req.TargetNodeID) {
		return fmt.Errorf("%w: target node_id %q is not dpc-node- followed by 32 lower-case hex", sdk.ErrInvalidArgument, req.TargetNodeID)
	}
	var obj map[string]json.RawMessage
	if err := decodeStrict(req.Payload, &obj); err != nil || obj == nil {
		return fmt.Errorf("%w: the hub relays JSON objects; the signal's payload is not one", sdk.ErrInvalidArgument)
	}
	have, err := payloadType(req.Payload)
	if err != nil {
		return fmt.Errorf("%w: %w", sdk.ErrInvalidArgument, err)
	}
	switch {
	case req.Type == "" || req.Type == have:
	case have == "":
		obj["type"], _ = json.Marshal(req.Type)
	default:
		return fmt.Errorf("%w: the signal's type %q and its payload's type %q differ", sdk.ErrInvalidArgument, req.Type, have)
	}
	payload, _ := json.Marshal(obj)
	msg, _ := json.Marshal(wsMessage{Type: "signal", TargetNodeID: req.TargetNodeID, Payload: payload})
	if len(msg) > maxSignalBytes {
		return fmt.Errorf("%w: the signal is %d bytes, the hub takes at most %d", sdk.ErrInvalidArgument, len(msg), maxSignalBytes)
	}
	p.mu.Lock()
	conn := p.conn
	p.mu.Unlock()
	if conn == nil {
		return fmt.Errorf("%w (%w): signals go over the stream Signals holds open; it is not connected now", ErrNoStream, sdk.ErrUnavailable)
	}
	if err := conn.Write(ctx, websocket.MessageText, msg); err != nil {
		return fmt.Errorf("%w: sending the signal to %s: %w", sdk.ErrUnavailable, req.TargetNodeID, err)
	}
	return nil
}
