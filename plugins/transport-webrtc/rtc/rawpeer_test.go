package rtc_test

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/dpc-go/dpc/sdk"
)

func TestRawPeerSpeakingTheProtocol(t *testing.T) {
	// A peer that is not this plugin (as a browser page would be): a plain
	// pion peer connection that sends its offer through the hub, opens a
	// foreign channel and two `dpc` channels, and speaks binary messages
	// and close-write. The plugin answers, accepts the first `dpc` channel,
	// closes the others, and the bytes flow both ways.
	b := newNode(t, "dpc-node-b", testConfig())
	ln, err := b.p.Listen(context.Background(), sdk.ListenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	raw, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	foreign, err := raw.CreateDataChannel("other", nil)
	if err != nil {
		t.Fatal(err)
	}
	foreignClosed := make(chan struct{})
	foreign.OnClose(func() { close(foreignClosed) })
	dc, err := raw.CreateDataChannel("dpc", nil)
	if err != nil {
		t.Fatal(err)
	}
	opened := make(chan struct{})
	dc.OnOpen(func() { close(opened) })
	got := make(chan []byte, 16)
	dc.OnMessage(func(m webrtc.DataChannelMessage) { got <- m.Data })
	second, err := raw.CreateDataChannel("dpc", nil)
	if err != nil {
		t.Fatal(err)
	}
	secondClosed := make(chan struct{})
	second.OnClose(func() { close(secondClosed) })

	// The answer and candidates the plugin sends through the hub go to the
	// raw peer.
	const cid = "00112233445566778899aabbccddeeff"
	b.host.OnRouteSignal = func(s sdk.Signal) error {
		var m struct {
			SDP       string                   `json:"sdp"`
			Candidate *webrtc.ICECandidateInit `json:"candidate"`
		}
		if err := json.Unmarshal(s.Payload, &m); err != nil {
			t.Errorf("the plugin sent a payload that is not JSON: %v", err)
			return nil
		}
		switch s.Type {
		case "webrtc-answer":
			if err := raw.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
				t.Errorf("the plugin's answer: %v", err)
			}
		case "webrtc-candidate":
			_ = raw.AddICECandidate(*m.Candidate)
		}
		return nil
	}
	offer, err := raw.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(raw)
	if err := raw.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered // no trickling from this side: every candidate is in the SDP
	payload, _ := json.Marshal(map[string]any{"type": "webrtc-offer", "cid": cid, "sdp": raw.LocalDescription().SDP})
	if err := b.p.HandleSignal(context.Background(), sdk.Signal{From: sdk.SignalViaHub, PeerNodeID: "dpc-node-browser", Type: "webrtc-offer", Payload: payload}); err != nil {
		t.Fatalf("HandleSignal offer: %v", err)
	}

	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	defer c.Close()
	wait := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not happen", what)
		}
	}
	wait(opened, "the raw peer's dpc channel opening")
	wait(foreignClosed, "the plugin closing the foreign channel")
	wait(secondClosed, "the plugin closing the second dpc channel")

	if err := dc.Send([]byte("from the page")); err != nil {
		t.Fatal(err)
	}
	if err := dc.SendText("close-write"); err != nil {
		t.Fatal(err)
	}
	if in, err := io.ReadAll(c); err != nil || string(in) != "from the page" {
		t.Fatalf("the plugin read %q (err %v), want %q then EOF", in, err, "from the page")
	}
	if _, err := c.Write([]byte("to the page")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if string(m) != "to the page" {
			t.Errorf("the raw peer got %q, want %q", m, "to the page")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the raw peer got nothing")
	}
}
