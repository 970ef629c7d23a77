package rtc_test

import (
	"context"
	"testing"

	"github.com/dpc-go/dpc/sdk"
)

// FuzzHandleSignal feeds a listening plugin arbitrary signals through the
// hub, offers with arbitrary SDP included (pion parses it): nothing from
// outside may panic it.
func FuzzHandleSignal(f *testing.F) {
	cfg := testConfig()
	cfg.DialTimeoutMS = 1000 // offers that parse free their slot soon
	n := newNode(f, "dpc-node-b", cfg)
	if _, err := n.p.Listen(context.Background(), sdk.ListenRequest{}); err != nil {
		f.Fatal(err)
	}
	const cid = "0123456789abcdef0123456789abcdef"
	f.Add("webrtc-offer", []byte(`{"type":"webrtc-offer","cid":"`+cid+`","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"}`))
	f.Add("webrtc-offer", []byte(`{"type":"webrtc-offer","cid":"`+cid+`","sdp":"v=0\r\na=fingerprint:sha-256 zz\r\na=ice-ufrag:\r\n","restart":true}`))
	f.Add("webrtc-candidate", []byte(`{"type":"webrtc-candidate","cid":"`+cid+`","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 1 typ relay raddr x rport -1","sdpMLineIndex":65535}}`))
	f.Add("webrtc-answer", []byte(`{"type":"webrtc-answer","cid":"`+cid+`","sdp":"\u0000"}`))
	f.Add("webrtc-close", []byte(`{"type":"webrtc-close","cid":"`+cid+`","reason":"\xff"}`))
	f.Fuzz(func(t *testing.T, typ string, payload []byte) {
		_ = n.p.HandleSignal(context.Background(), sdk.Signal{From: sdk.SignalViaHub, PeerNodeID: "dpc-node-fuzz", Type: typ, Payload: payload})
	})
}
