package rtc_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/dpc-go/dpc/plugins/transport-webrtc/rtc"
	"github.com/dpc-go/dpc/sdk"
)

// realOfferSDP is the SDP of an offer by a plain pion peer connection with
// a data channel: an offer an answerer accepts (its ICE never connects,
// since nobody reads the answer).
func realOfferSDP(t testing.TB) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	if _, err := pc.CreateDataChannel("dpc", nil); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}

func randomCID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func offerSignal(t testing.TB, from, cid, sdp string) sdk.Signal {
	t.Helper()
	payload, err := json.Marshal(map[string]any{"type": "webrtc-offer", "cid": cid, "sdp": sdp})
	if err != nil {
		t.Fatal(err)
	}
	return sdk.Signal{From: sdk.SignalViaHub, PeerNodeID: from, Type: "webrtc-offer", Payload: payload}
}

func countSignals(n *node, typ string) int {
	c := 0
	for _, s := range n.host.Signals() {
		if s.Type == typ {
			c++
		}
	}
	return c
}

func TestOfferFloodIsBounded(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPendingPerPeer, cfg.MaxPending = 4, 10
	cfg.DialTimeoutMS = 3000 // half-open answers give their slot back after this
	a, b, ln := pair(t, testConfig(), cfg)
	sdp := realOfferSDP(t)

	// 3 flooding nodes, 8 offers each: 4 + 4 + 2 are answered, 14 refused.
	ctx := context.Background()
	for p := range 3 {
		for range 8 {
			_ = b.p.HandleSignal(ctx, offerSignal(t, fmt.Sprintf("dpc-node-flood-%d", p), randomCID(), sdp))
		}
	}
	// Answers and "busy" refusals are counted, not the pending slots, which
	// a slow machine may already be freeing.
	busy := func(s sdk.Signal) bool {
		var m struct{ Reason string }
		return s.Type == "webrtc-close" && json.Unmarshal(s.Payload, &m) == nil && m.Reason == "busy"
	}
	countBusy := func() int {
		n := 0
		for _, s := range b.host.Signals() {
			if busy(s) {
				n++
			}
		}
		return n
	}
	if got := b.p.Pending(); got > 10 {
		t.Errorf("pending after the flood: want at most max_pending = 10, got %d", got)
	}
	if !waitSignal(t, b.host, func(sdk.Signal) bool { return countBusy() >= 14 && countSignals(b, "webrtc-answer") >= 10 }) {
		t.Errorf("want 14 offers refused as busy and 10 answered, got %d and %d", countBusy(), countSignals(b, "webrtc-answer"))
	}
	if got := countBusy(); got != 14 {
		t.Errorf("want exactly 14 offers refused as busy, got %d", got)
	}
	if got := countSignals(b, "webrtc-answer"); got != 10 {
		t.Errorf("want exactly 10 answers, got %d", got)
	}

	// The half-open answers time out and free their slots.
	deadline := time.Now().Add(60 * time.Second)
	for b.p.Pending() != 0 && time.Now().Before(deadline) {
		<-b.host.Changed() // each timeout sends a webrtc-close
	}
	if got := b.p.Pending(); got != 0 {
		t.Fatalf("pending after the half-open answers timed out: want 0, got %d", got)
	}
	// A real peer still gets through.
	dialed, accepted := connect(t, a, b, ln)
	if _, err := dialed.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	if _, err := accepted.Read(buf); err != nil || string(buf) != "hi" {
		t.Fatalf("after the flood: want %q, got %q (err %v)", "hi", buf, err)
	}
}

func TestBadSignalsAreDropped(t *testing.T) {
	a, b, ln := pair(t, testConfig(), testConfig())
	dialed, accepted := connect(t, a, b, ln)
	sdp := realOfferSDP(t)
	cid, strangerCID := randomCID(), randomCID()
	// In order: the stranger's offer makes a live session that the garbage
	// candidate after it is aimed at.
	tests := []struct {
		name string
		s    sdk.Signal
	}{
		{"not via the hub", sdk.Signal{From: "transport/other", PeerNodeID: a.id, Type: "webrtc-offer", Payload: []byte(`{}`)}},
		{"unknown type", sdk.Signal{From: sdk.SignalViaHub, PeerNodeID: a.id, Type: "webrtc-nope", Payload: []byte(`{}`)}},
		{"no peer", sdk.Signal{From: sdk.SignalViaHub, Type: "webrtc-close", Payload: []byte(`{"type":"webrtc-close","cid":"` + cid + `"}`)}},
		{"garbage payload", sdk.Signal{From: sdk.SignalViaHub, PeerNodeID: a.id, Type: "webrtc-offer", Payload: []byte("\xff\x00{")}},
		{"answer unknown cid", sdk.Signal{From: sdk.SignalViaHub, PeerNodeID: a.id, Type: "webrtc-answer", Payload: []byte(`{"type":"webrtc-answer","cid":"` + cid + `","sdp":"v=0"}`)}},
		{"candidate unknown cid", sdk.Signal{From: sdk.SignalViaHub, PeerNodeID: a.id, Type: "webrtc-candidate", Payload: []byte(`{"type":"webrtc-candidate","cid":"` + cid + `","candidate":{"candidate":"x"}}`)}},
		{"close unknown cid", sdk.Signal{From: sdk.SignalViaHub, PeerNodeID: a.id, Type: "webrtc-close", Payload: []byte(`{"type":"webrtc-close","cid":"` + cid + `"}`)}},
		{"restart unknown cid", sdk.Signal{From: sdk.SignalViaHub, PeerNodeID: a.id, Type: "webrtc-offer", Payload: []byte(`{"type":"webrtc-offer","cid":"` + cid + `","sdp":"v=0","restart":true}`)}},
		{"offer garbage sdp", offerSignal(t, a.id, randomCID(), "v=0\r\nthis is not sdp")},
		{"offer from a stranger", offerSignal(t, "dpc-node-stranger", strangerCID, sdp)},
		{"garbage candidate for a live cid", sdk.Signal{From: sdk.SignalViaHub, PeerNodeID: "dpc-node-stranger", Type: "webrtc-candidate",
			Payload: []byte(`{"type":"webrtc-candidate","cid":"` + strangerCID + `","candidate":{"candidate":"candidate:garbage 1 udp"}}`)}},
		{"garbage answer for a live cid", sdk.Signal{From: sdk.SignalViaHub, PeerNodeID: "dpc-node-stranger", Type: "webrtc-answer",
			Payload: []byte(`{"type":"webrtc-answer","cid":"` + strangerCID + `","sdp":"v=0"}`)}},
		{"second offer for a live cid", offerSignal(t, "dpc-node-stranger", strangerCID, "garbage")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_ = b.p.HandleSignal(context.Background(), tc.s)
		})
	}
	// The live connection is unharmed.
	if _, err := dialed.Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	if _, err := accepted.Read(buf); err != nil || string(buf) != "ok" {
		t.Fatalf("after bad signals: want %q, got %q (err %v)", "ok", buf, err)
	}
}

func TestRestartOfferFloodIsThrottled(t *testing.T) {
	// A peer repeating restart offers for a live connection gets at most one
	// answer a second, and the connection goes on.
	a, b, ln := pair(t, testConfig(), testConfig())
	dialed, accepted := connect(t, a, b, ln)
	var offer map[string]any
	for _, s := range a.host.Signals() {
		if s.Type == "webrtc-offer" {
			if err := json.Unmarshal(s.Payload, &offer); err != nil {
				t.Fatal(err)
			}
		}
	}
	offer["restart"] = true
	payload, _ := json.Marshal(offer)
	start := time.Now()
	applied := 0
	for range 30 {
		err := b.p.HandleSignal(context.Background(), sdk.Signal{From: sdk.SignalViaHub, PeerNodeID: a.id, Type: "webrtc-offer", Payload: payload})
		switch {
		case err == nil:
			applied++
		case !errors.Is(err, rtc.ErrRateLimited):
			t.Fatalf("restart offer: want nil or ErrRateLimited, got %v", err)
		}
	}
	if secs := int(time.Since(start)/time.Second) + 1; applied > secs {
		t.Errorf("30 restart offers in %d s: want at most %d applied, got %d", secs, secs, applied)
	}
	echo(t, dialed, accepted, "still here")
}

func TestShutdownResetsPendingCounts(t *testing.T) {
	// Half-open answers closed by Shutdown do not count against (or for)
	// the next configuration's bounds.
	cfg := testConfig()
	cfg.MaxPendingPerPeer, cfg.MaxPending = 4, 4
	n := newNode(t, "dpc-node-b", cfg)
	if _, err := n.p.Listen(context.Background(), sdk.ListenRequest{}); err != nil {
		t.Fatal(err)
	}
	sdp := realOfferSDP(t)
	for range 4 {
		_ = n.p.HandleSignal(context.Background(), offerSignal(t, "dpc-node-flood", randomCID(), sdp))
	}
	if got := n.p.Pending(); got != 4 {
		t.Fatalf("pending before Shutdown: want 4, got %d", got)
	}
	if err := n.p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := n.p.Configure(context.Background(), sdk.ConfigureRequest{Config: cfg, Host: n.host, NodeID: n.id}); err != nil {
		t.Fatal(err)
	}
	if got := n.p.Pending(); got != 0 {
		t.Fatalf("pending after Shutdown and Configure: want 0, got %d", got)
	}
}
