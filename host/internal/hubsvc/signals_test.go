package hubsvc

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/pluginhost"
)

// signalingHub is a logged-in hub plugin whose stream delivers incoming,
// then stays open; it records the signals sent and serves ice.
type signalingHub struct {
	fakeHub
	incoming []sdk.IncomingSignal
	ice      []sdk.IceServer
	mu       sync.Mutex
	sent     []sdk.SendSignalRequest
}

func (h *signalingHub) Signals(ctx context.Context, fn func(sdk.IncomingSignal) error) error {
	for _, in := range h.incoming {
		if err := fn(in); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

func (h *signalingHub) SendSignal(_ context.Context, req sdk.SendSignalRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent = append(h.sent, req)
	return nil
}

func (h *signalingHub) IceServers(context.Context) ([]sdk.IceServer, error) { return h.ice, nil }

// transportsTakingSignals records what DeliverHubSignal hands over.
type transportsTakingSignals struct {
	hub sdk.Hub
	got chan sdk.Signal
}

func (p transportsTakingSignals) OfKind(k sdk.Kind) []string { return fakePlugins{}.OfKind(k) }

func (p transportsTakingSignals) Client(id string) (*pluginhost.Client, bool) {
	return &pluginhost.Client{Hub: p.hub}, id == hubID
}

func (p transportsTakingSignals) DeliverHubSignal(_ context.Context, s sdk.Signal) int {
	p.got <- s
	return 1
}

// TestHubSignalsReachTheTransportsInOrder: what arrives through the hub is
// handed to the transports as a signal from the hub, with the sender the
// hub names as the peer, in arrival order.
func TestHubSignalsReachTheTransportsInOrder(t *testing.T) {
	t.Parallel()
	const peer = "dpc-node-0123456789abcdef0123456789abcdef"
	h := &signalingHub{incoming: []sdk.IncomingSignal{
		{SenderNodeID: peer, Type: "webrtc-offer", Payload: []byte(`{"type":"webrtc-offer","cid":"1"}`)},
		{SenderNodeID: peer, Type: "webrtc-candidate", Payload: []byte(`{"type":"webrtc-candidate","cid":"1"}`)},
	}}
	p := transportsTakingSignals{hub: h, got: make(chan sdk.Signal, 4)}
	s := newService(t, newStore(t), newKey(t))
	s.Start(context.Background(), p)
	if _, err := s.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, in := range h.incoming {
		select {
		case got := <-p.got:
			want := sdk.Signal{From: sdk.SignalViaHub, Type: in.Type, Payload: in.Payload, PeerNodeID: peer}
			if got.From != want.From || got.Type != want.Type || got.PeerNodeID != want.PeerNodeID || string(got.Payload) != string(want.Payload) {
				t.Errorf("signal %d: got %+v, want %+v", i, got, want)
			}
		case <-time.After(time.Minute):
			t.Fatalf("signal %d never reached the transports", i)
		}
	}
}

// TestTransportsUseTheHubOnlyWhenLoggedIn: a transport's signal and its
// request for ICE servers go through the hub login, and fail with
// ErrUnavailable (which a transport can tell from a real error) without one.
func TestTransportsUseTheHubOnlyWhenLoggedIn(t *testing.T) {
	t.Parallel()
	ice := []sdk.IceServer{{URLs: []string{"turn:127.0.0.1:3478"}, Username: "u", Credential: "c"}}
	h := &signalingHub{ice: ice}
	s := newService(t, newStore(t), newKey(t))
	s.Start(context.Background(), transportsTakingSignals{hub: h, got: make(chan sdk.Signal, 1)})
	req := sdk.SendSignalRequest{TargetNodeID: "dpc-node-0123456789abcdef0123456789abcdef", Type: "webrtc-offer", Payload: []byte(`{}`)}

	if err := s.SendSignal(context.Background(), req); !errors.Is(err, sdk.ErrUnavailable) || !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("SendSignal before login: got %v, want ErrUnavailable and ErrNotLoggedIn", err)
	}
	if _, err := s.IceServers(context.Background()); !errors.Is(err, sdk.ErrUnavailable) {
		t.Errorf("IceServers before login: got %v, want ErrUnavailable", err)
	}
	if _, err := s.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.SendSignal(context.Background(), req); err != nil {
		t.Fatalf("SendSignal after login: %v", err)
	}
	h.mu.Lock()
	sent := slices.Clone(h.sent)
	h.mu.Unlock()
	if len(sent) != 1 || sent[0].TargetNodeID != req.TargetNodeID || sent[0].Type != req.Type {
		t.Errorf("the hub plugin was asked to send %+v, want [%+v]", sent, req)
	}
	got, err := s.IceServers(context.Background())
	if err != nil || len(got) != 1 || got[0].Username != "u" {
		t.Errorf("IceServers after login: %+v, %v; want the hub's", got, err)
	}
}
