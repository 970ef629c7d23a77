package hubsvc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// mailboxHub is a logged-in hub plugin holding one envelope.
type mailboxHub struct {
	signalingHub
	acked chan []string
}

func (h *mailboxHub) MailboxFetch(context.Context, sdk.MailboxFetchRequest) (sdk.MailboxFetchResult, error) {
	return sdk.MailboxFetchResult{Envelopes: []sdk.MailboxEnvelope{{ID: "e1", Envelope: []byte("sealed")}}}, nil
}

func (h *mailboxHub) MailboxPut(context.Context, sdk.MailboxPutRequest) (sdk.MailboxPutResult, error) {
	return sdk.MailboxPutResult{EnvelopeID: "e2"}, nil
}

func (h *mailboxHub) MailboxAck(_ context.Context, req sdk.MailboxAckRequest) error {
	h.acked <- req.EnvelopeIDs
	return nil
}

// gatedHub is a signalingHub whose stream delivers only once released.
type gatedHub struct {
	signalingHub
	release chan struct{}
}

func (h *gatedHub) Signals(ctx context.Context, fn func(sdk.IncomingSignal) error) error {
	select {
	case <-h.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.signalingHub.Signals(ctx, fn)
}

// TestMailboxHintFetchesAndNeverReachesTheTransports: the hub's
// {"type":"mailbox"} hint (no sender) runs the Mailbox hook (as coming
// online does) and is not handed to the transports as if it were a
// transport's signal; one a peer relayed through the hub (it names the
// peer) cannot make the node fetch, and goes to the transports like any
// peer's signal.
func TestMailboxHintFetchesAndNeverReachesTheTransports(t *testing.T) {
	t.Parallel()
	const peer = "dpc-node-0123456789abcdef0123456789abcdef"
	h := &gatedHub{release: make(chan struct{}), signalingHub: signalingHub{incoming: []sdk.IncomingSignal{
		{Type: sdk.SignalTypeMailbox},
		{SenderNodeID: peer, Type: sdk.SignalTypeMailbox, Payload: []byte(`{"type":"mailbox"}`)},
		{SenderNodeID: peer, Type: "webrtc-offer", Payload: []byte(`{"type":"webrtc-offer","cid":"1"}`)},
	}}}
	hints := make(chan struct{}, 4)
	s, err := New(Options{Store: newStore(t), Key: newKey(t), Profile: Profile{Name: "alice"}, Mailbox: func() { hints <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	p := transportsTakingSignals{hub: h, got: make(chan sdk.Signal, 4)}
	s.Start(context.Background(), p)
	if _, err := s.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hints: // coming online
	case <-time.After(time.Minute):
		t.Fatal("logging in did not run the Mailbox hook")
	}
	close(h.release)
	for _, want := range []string{sdk.SignalTypeMailbox, "webrtc-offer"} {
		select {
		case got := <-p.got:
			if got.Type != want || got.PeerNodeID != peer {
				t.Fatalf("the transports got %q from %q, want %q from the peer (the hub's hint is not theirs)", got.Type, got.PeerNodeID, want)
			}
		case <-time.After(time.Minute):
			t.Fatalf("the peer's %q never reached the transports", want)
		}
	}
	// Signals are handled in order, each hook call before the next signal:
	// by the offer, the hint's call is in, and a relayed one's would be.
	if n := len(hints); n != 1 {
		t.Fatalf("the Mailbox hook ran %d times for the stream, want once (the hub's hint, not the peer's)", n)
	}
}

// TestMailboxCallsNeedALogin: the mailbox reaches the hub plugin only while
// the node is logged in; before, every call says so.
func TestMailboxCallsNeedALogin(t *testing.T) {
	t.Parallel()
	h := &mailboxHub{acked: make(chan []string, 1)}
	s := newService(t, newStore(t), newKey(t))
	s.Start(context.Background(), transportsTakingSignals{hub: h, got: make(chan sdk.Signal, 1)})
	ctx := context.Background()
	if err := s.CheckLoggedIn(); !errors.Is(err, ErrNotLoggedIn) {
		t.Fatalf("before any login: %v, want ErrNotLoggedIn", err)
	}
	_, errPut := s.MailboxPut(ctx, sdk.MailboxPutRequest{RecipientNodeID: "dpc-node-0123456789abcdef0123456789abcdef", Envelope: []byte("x")})
	_, errFetch := s.MailboxFetch(ctx, sdk.MailboxFetchRequest{})
	errAck := s.MailboxAck(ctx, sdk.MailboxAckRequest{EnvelopeIDs: []string{"e1"}})
	for name, err := range map[string]error{"put": errPut, "fetch": errFetch, "ack": errAck} {
		if !errors.Is(err, ErrNotLoggedIn) {
			t.Errorf("%s before login: got %v, want ErrNotLoggedIn", name, err)
		}
	}
	if _, err := s.Login(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckLoggedIn(); err != nil {
		t.Fatalf("after Login: %v", err)
	}
	res, err := s.MailboxFetch(ctx, sdk.MailboxFetchRequest{})
	if err != nil || len(res.Envelopes) != 1 || res.Envelopes[0].ID != "e1" {
		t.Fatalf("fetch after login: %+v, %v", res, err)
	}
	if put, err := s.MailboxPut(ctx, sdk.MailboxPutRequest{Envelope: []byte("x")}); err != nil || put.EnvelopeID != "e2" {
		t.Fatalf("put after login: %+v, %v", put, err)
	}
	if err := s.MailboxAck(ctx, sdk.MailboxAckRequest{EnvelopeIDs: []string{"e1"}}); err != nil {
		t.Fatal(err)
	}
	if ids := <-h.acked; len(ids) != 1 || ids[0] != "e1" {
		t.Fatalf("acked %v at the hub, want [e1]", ids)
	}
}
