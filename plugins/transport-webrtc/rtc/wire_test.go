package rtc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"testing"
	"time"

	"github.com/dpc-go/dpc/plugins/transport-webrtc/rtc"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

func TestDialAcceptOverTheWire(t *testing.T) {
	// Both plugins served over real gRPC, as the host runs them: signals go
	// out through Host.RouteSignal and come in through HandleSignal.
	ha, hb := sdktest.New(t, &rtc.Plugin{}), sdktest.New(t, &rtc.Plugin{})
	ids := map[*sdktest.Harness]string{ha: "dpc-node-a", hb: "dpc-node-b"}
	for from, to := range map[*sdktest.Harness]*sdktest.Harness{ha: hb, hb: ha} {
		from.Host.OnRouteSignal = func(s sdk.Signal) error {
			if s.To != sdk.SignalViaHub {
				return nil
			}
			return to.Client.HandleSignal(context.Background(), sdk.Signal{
				From: sdk.SignalViaHub, Type: s.Type, Payload: s.Payload, PeerNodeID: ids[from],
			})
		}
		if err := from.Configure(t, testConfig()); err != nil {
			t.Fatalf("Configure: %v", err)
		}
	}
	if caps := ha.Client.Info.Capabilities; len(caps) != 1 || caps[0] != sdk.CapabilityDialByNodeID {
		t.Errorf("Info over the wire: want capability %q, got %v", sdk.CapabilityDialByNodeID, caps)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ln, err := hb.Client.Transport.Listen(ctx, sdk.ListenRequest{})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer ln.Close()
	accepted := make(chan sdk.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Errorf("Accept: %v", err)
			close(accepted)
			return
		}
		accepted <- c
	}()
	dialed, err := ha.Client.Transport.Dial(ctx, sdk.DialRequest{ExpectedNodeID: "dpc-node-b"})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer dialed.Close()
	peer, ok := <-accepted
	if !ok {
		return
	}
	defer peer.Close()

	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	go func() { _, _ = dialed.Write(data); _ = dialed.CloseWrite() }()
	got, err := io.ReadAll(peer)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("dialer→acceptor: want %d bytes then EOF, got %d (err %v)", len(data), len(got), err)
	}
	_, _ = peer.Write([]byte("pong"))
	_ = peer.CloseWrite()
	if back, err := io.ReadAll(dialed); err != nil || string(back) != "pong" {
		t.Fatalf("acceptor→dialer: want %q then EOF, got %q (err %v)", "pong", back, err)
	}
}
