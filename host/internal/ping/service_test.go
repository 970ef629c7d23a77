package ping_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
)

// TestRTTOfPeers: a connected peer answers PING and its round trip is
// measured; an offline one is not dialed. Before, there was no PING.
func TestRTTOfPeers(t *testing.T) {
	t.Parallel()
	a, b := nettest.Loopback(t, "alice", nil), nettest.Loopback(t, "bob", nil)
	nettest.Connect(t, a, b)
	for name, tc := range map[string]struct {
		peer    string
		wantErr error
	}{
		"a connected peer":   {b.ID.NodeID, nil},
		"a peer never known": {"dpc-node-0000000000000000000000000000000f", network.ErrPeerOffline},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), nettest.WaitLimit)
			defer cancel()
			d, err := a.Ping.RTT(ctx, tc.peer)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("RTT: want error %v, got %v", tc.wantErr, err)
			}
			if err == nil && d <= 0 {
				t.Errorf("RTT: want a positive round trip, got %s", d)
			}
		})
	}
}

// TestMalformedPingIsABadRequest: a PING without request_id is answered
// by the router like any invalid payload, and the session goes on.
func TestMalformedPingIsABadRequest(t *testing.T) {
	t.Parallel()
	b := nettest.Loopback(t, "bob", nil)
	s, _ := nettest.RawSession(t, b)
	if err := s.Send(dptp.CmdPing, map[string]any{"request_id": ""}); err != nil {
		t.Fatal(err)
	}
	e, err := dptp.Decode[dptp.ErrorReply](nettest.Next(t, s, dptp.CmdError))
	if err != nil || e.Code != dptp.CodeBadRequest || e.RefusedCommand != dptp.CmdPing {
		t.Fatalf("want ERROR bad_request for PING, got %+v (err %v)", e, err)
	}
	if err := s.Send(dptp.CmdPing, dptp.Ping{RequestID: "p1"}); err != nil {
		t.Fatal(err)
	}
	p, err := dptp.Decode[dptp.Pong](nettest.Next(t, s, dptp.CmdPong))
	if err != nil || p.RequestID != "p1" {
		t.Fatalf("want PONG p1 after the bad frame, got %+v (err %v)", p, err)
	}
}
