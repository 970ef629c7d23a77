package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dpc-go/dpc/hub/internal/testnode"
)

// sdpOffer is a signal the size of a real non-trickle WebRTC offer.
var sdpOffer = map[string]any{"type": "offer", "offer": map[string]string{"type": "offer", "sdp": strings.Repeat("a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host\r\n", 30)}}

// BenchmarkSignalRoundTrip measures a signal from A through the hub to B
// and B's answer back through the hub to A (four WebSocket hops), next to
// the physical limit measured in the same run: the same bytes over a raw
// WebSocket echo on loopback (two hops) done twice, i.e. four hops.
func BenchmarkSignalRoundTrip(b *testing.B) {
	ctx := context.Background()
	// The raw echo server.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
		}
	}))
	defer echo.Close()
	raw, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(echo.URL, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.CloseNow()

	h := newTestHub(b, nil)
	alice, bob := testnode.New(b), testnode.New(b)
	ca := h.dial(b, h.login(b, alice).AccessToken)
	cb := h.dial(b, h.login(b, bob).AccessToken)
	toBob, _ := json.Marshal(map[string]any{"type": "signal", "target_node_id": bob.NodeID, "payload": sdpOffer})
	toAlice, _ := json.Marshal(map[string]any{"type": "signal", "target_node_id": alice.NodeID, "payload": sdpOffer})

	roundTrip := func(w *websocket.Conn, msg []byte, r *websocket.Conn) {
		if err := w.Write(ctx, websocket.MessageText, msg); err != nil {
			b.Fatal(err)
		}
		if _, _, err := r.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var hubTime, rawTime time.Duration
	for range b.N {
		start := time.Now()
		roundTrip(ca, toBob, cb)
		roundTrip(cb, toAlice, ca)
		mid := time.Now()
		roundTrip(raw, toBob, raw)
		roundTrip(raw, toAlice, raw)
		hubTime += mid.Sub(start)
		rawTime += time.Since(mid)
	}
	b.StopTimer()
	hubNs := float64(hubTime.Nanoseconds()) / float64(b.N)
	rawNs := float64(rawTime.Nanoseconds()) / float64(b.N)
	b.ReportMetric(hubNs, "hub-ns/rtt")
	b.ReportMetric(rawNs, "raw-ws-ns/rtt")
	b.ReportMetric(hubNs/rawNs, "hub/raw")
	b.ReportMetric(0, "ns/op")
}
