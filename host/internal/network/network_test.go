package network_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
)

func TestBadFramesAreAnsweredAndTheSessionGoesOn(t *testing.T) {
	t.Parallel()
	b := nettest.Loopback(t, "bob", nil)
	s, _ := nettest.RawSession(t, b)
	tests := map[string]struct {
		command  string
		payload  any
		wantCode string
	}{
		"unknown command":             {"NO_SUCH_COMMAND", map[string]any{}, dptp.CodeUnknownCommand},
		"SEND_TEXT without text":      {dptp.CmdSendText, map[string]any{"message_id": "m1", "sent_at": "2026-01-01T00:00:00.000Z"}, dptp.CodeBadRequest},
		"FILE_OFFER with a path name": {dptp.CmdFileOffer, map[string]any{"transfer_id": "t1", "filename": "../x", "size_bytes": 1, "sha256": strings.Repeat("a", 64), "mime_type": "x/y", "chunk_size": 65536}, dptp.CodeBadRequest},
	}
	for name, tc := range tests {
		if err := s.Send(tc.command, tc.payload); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		e, err := dptp.Decode[dptp.ErrorReply](nettest.Next(t, s, dptp.CmdError))
		if err != nil || e.Code != tc.wantCode {
			t.Errorf("%s: want ERROR %s, got %+v (err %v)", name, tc.wantCode, e, err)
		}
	}
	// Still alive: a stranger's valid message is held as a contact request.
	if err := s.Send(dptp.CmdSendText, dptp.SendText{MessageID: "ok1", Text: "hi", SentAt: dptp.Now()}); err != nil {
		t.Fatal(err)
	}
	a, err := dptp.Decode[dptp.Ack](nettest.Next(t, s, dptp.CmdAck))
	if err != nil || a.MessageID != "ok1" || a.Status != dptp.AckHeld {
		t.Errorf("after bad frames: want ACK held for ok1, got %+v (err %v)", a, err)
	}
}

func TestSimultaneousDialsKeepOneSession(t *testing.T) {
	t.Parallel()
	a, b := nettest.Loopback(t, "alice", nil), nettest.Loopback(t, "bob", nil)
	done := make(chan error, 2)
	go func() { _, err := a.Net.Connect(context.Background(), b.URI(), network.ConnectOptions{}); done <- err }()
	go func() { _, err := b.Net.Connect(context.Background(), a.URI(), network.ConnectOptions{}); done <- err }()
	<-done
	<-done
	if _, err := a.Chats.Send(b.ID.NodeID, "after the race"); err != nil {
		t.Fatal(err)
	}
	nettest.WaitFor(t, "delivery over the surviving session", func() bool {
		h, _ := a.Chat.History(b.ID.NodeID, time.Time{}, 0)
		return len(h) == 1 && h[0].State == chat.StateDelivered
	})
	st, _ := a.Net.Peers()
	if len(st) != 1 || st[0].State != "connected" {
		t.Errorf("want bob connected, got %+v", st)
	}
}

func TestNeverReachedContactIsGivenUp(t *testing.T) {
	t.Parallel()
	a := nettest.Loopback(t, "alice", func(o *network.Options) { o.GiveUpAfter = 3 })
	dead := nettest.Loopback(t, "nobody", nil)
	uri := "dpc://127.0.0.1:1?node_id=" + dead.ID.NodeID // nothing listens on port 1
	events, done := a.Net.Bus().Subscribe()
	defer done()
	if _, err := a.Net.Connect(context.Background(), uri, network.ConnectOptions{}); err == nil {
		t.Fatal("connect to a dead address: want an error")
	}
	deadline := time.After(time.Minute)
	for {
		select {
		case e := <-events:
			if st, ok := e.Data.(map[string]string); ok && e.Peer == dead.ID.NodeID && strings.Contains(st["reason"], "gave up after 3 attempts") {
				p, _ := a.Net.Peers()
				if len(p) != 1 || p[0].State != "offline" {
					t.Errorf("want the contact kept, offline, got %+v", p)
				}
				return
			}
		case <-deadline:
			t.Fatal("the never-reached contact was not given up after 3 attempts")
		}
	}
}

// TestPeerRecordKeepsCertificateAndEnvelopeKey: after a dptp/1 session,
// each side's record of the other holds the peer's certificate and its
// verified envelope key, so that channel keys can be sealed to it while
// it is offline.
func TestPeerRecordKeepsCertificateAndEnvelopeKey(t *testing.T) {
	t.Parallel()
	a, b := nettest.Loopback(t, "alice", nil), nettest.Loopback(t, "bob", nil)
	if _, err := a.Net.Connect(context.Background(), b.URI(), network.ConnectOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		at, of *nettest.Node
	}{{"alice's record of bob", a, b}, {"bob's record of alice", b, a}} {
		t.Run(tc.name, func(t *testing.T) {
			var p peers.Peer
			nettest.WaitFor(t, "the peer record", func() bool {
				var err error
				p, err = tc.at.Peers.Get(tc.of.ID.NodeID)
				return err == nil && len(p.EnvelopeKey) != 0
			})
			if !bytes.Equal(p.Certificate, tc.of.ID.Certificate.Raw) {
				t.Errorf("certificate is not the peer's")
			}
			if !bytes.Equal(p.EnvelopeKey, tc.of.ID.EnvelopeKey.PublicKey().Bytes()) || !bytes.Equal(p.EnvelopeBinding, tc.of.ID.EnvelopeBinding) {
				t.Errorf("envelope key or binding is not the peer's")
			}
		})
	}
}
