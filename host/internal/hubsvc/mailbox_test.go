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

// TestMailboxHintFetchesAndNeverReachesTheTransports: the hub's
// {"type":"mailbox"} hint runs the Mailbox hook (as coming online does) and
// is not handed to the transports as if it were a transport's signal; the
// signals after it still are.
func TestMailboxHintFetchesAndNeverReachesTheTransports(t *testing.T) {
	t.Parallel()
	const peer = "dpc-node-0123456789abcdef0123456789abcdef"
	h := &signalingHub{incoming: []sdk.IncomingSignal{
		{Type: SignalMailbox, Payload: []byte(`{"type":"mailbox"}`)},
		{SenderNodeID: peer, Type: "webrtc-offer", Payload: []byte(`{"type":"webrtc-offer","cid":"1"}`)},
	}}
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
	for i := range 2 { // one for coming online, one for the hint
		select {
		case <-hints:
		case <-time.After(time.Minute):
			t.Fatalf("the Mailbox hook ran %d times, want 2", i)
		}
	}
	select {
	case got := <-p.got:
		if got.Type != "webrtc-offer" {
			t.Fatalf("the transports got a %q signal first, want the webrtc-offer after the hint", got.Type)
		}
	case <-time.After(time.Minute):
		t.Fatal("the offer after the hint never reached the transports")
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
