package hubdpc

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dpc-go/dpc/sdk"
)

// TestReconnectHintIsNoFailure: a hub replica that shuts down sends
// {"type":"reconnect","retry_after_ms":N} and closes with 1012; the plugin
// reconnects after a random wait bounded by min(N, 30 s) (not the failure
// backoff), and tells the host at info level, not with a warning.
func TestReconnectHintIsNoFailure(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		hint      any // the message before the close; nil sends none
		wantBound time.Duration
	}{
		"hint of 200 ms":        {hint: map[string]any{"type": "reconnect", "retry_after_ms": 200, "message": "hub replica shutting down: reconnect"}, wantBound: 200 * time.Millisecond},
		"hint over 30 s capped": {hint: map[string]any{"type": "reconnect", "retry_after_ms": 3_600_000}, wantBound: backoffMax},
		"negative hint is now":  {hint: map[string]any{"type": "reconnect", "retry_after_ms": -5}, wantBound: 0},
		"1012 without the hint": {wantBound: backoffMax},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hub := newFakeHub(t)
			hub.onSocket = func(ctx context.Context, conn *websocket.Conn, n int) {
				if n != 1 {
					return // the reconnected socket stays open
				}
				if tc.hint != nil {
					msg, _ := json.Marshal(tc.hint)
					_ = conn.Write(ctx, websocket.MessageText, msg)
				}
				_ = conn.Close(websocket.StatusServiceRestart, "hub shutting down: reconnect")
			}
			n := newNode(t, hub.base, "Alice", nil)
			bounds := make(chan time.Duration, 4)
			// The wait itself is random; the test sees its bound and
			// reconnects at once.
			n.p.randWait = func(ceil time.Duration) time.Duration { bounds <- ceil; return 0 }
			n.login(t)
			n.signals(t)
			waitEvents(t, n.h.Host, EventConnected, 2)

			select {
			case got := <-bounds:
				if got != tc.wantBound {
					t.Errorf("random wait bounded by %s, want %s", got, tc.wantBound)
				}
			default:
				t.Fatal("the reconnect did not wait a random time bounded by the hint: it was taken for a failure")
			}
			for _, e := range n.h.Host.Events() {
				if e.Type == EventDisconnected && e.Level != sdk.EventInfo {
					t.Errorf("want the restart reported at info level, got %+v", e)
				}
			}
			if c := countEvents(n.h.Host, EventDisconnected); c != 1 {
				t.Errorf("want one hub.disconnected (info) for the restart, got %d", c)
			}
		})
	}
}

// TestHintWaitBounds: the hub's retry_after_ms is clamped to [0, 30 s].
func TestHintWaitBounds(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		ms   int64
		want time.Duration
	}{
		"zero":      {0, 0},
		"negative":  {-1, 0},
		"in range":  {1500, 1500 * time.Millisecond},
		"at 30 s":   {30_000, backoffMax},
		"over 30 s": {1 << 62, backoffMax},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := hintWait(tc.ms); got != tc.want {
				t.Errorf("hintWait(%d) = %s, want %s", tc.ms, got, tc.want)
			}
		})
	}
	p := &Plugin{}
	for range 200 {
		if d := p.spread(200 * time.Millisecond); d < 0 || d > 200*time.Millisecond {
			t.Fatalf("spread(200ms) = %s, outside [0, 200ms]", d)
		}
	}
}
