package rtc_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"github.com/dpc-go/dpc/plugins/transport-webrtc/rtc"
	"github.com/dpc-go/dpc/sdk"
)

const (
	turnRealm = "dpc.test"
	turnUser  = "dpc"
	turnPass  = "secret"
)

// startTURN runs a TURN server with long-term credentials on addr (UDP,
// loopback), relaying on 127.0.0.1, and returns it with the address it
// listens on. Stop it with Close (idempotent).
func startTURN(t testing.TB, addr string) (*turn.Server, string) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", addr)
	if err != nil {
		t.Fatalf("TURN listen %s: %v", addr, err)
	}
	key := turn.GenerateAuthKey(turnUser, turnRealm, turnPass)
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: turnRealm,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			if ra.Username != turnUser {
				return "", nil, false
			}
			return turnUser, key, true
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            conn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP("127.0.0.1"), Address: "127.0.0.1"},
		}},
	})
	if err != nil {
		_ = conn.Close()
		t.Fatalf("TURN server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, conn.LocalAddr().String()
}

// relayPair is two nodes that may only use the TURN server at addr, which
// both get from their (fake) hub as Host.IceServers.
func relayPair(t testing.TB, addr string, cfg func(*rtc.Config)) (a, b *node, ln sdk.Listener) {
	t.Helper()
	c := testConfig()
	c.RelayOnly = true
	if cfg != nil {
		cfg(c)
	}
	a, b, ln = pair(t, c, c)
	servers := []sdk.IceServer{{URLs: []string{"turn:" + addr + "?transport=udp"}, Username: turnUser, Credential: turnPass}}
	a.host.SetIceServers(servers)
	b.host.SetIceServers(servers)
	return a, b, ln
}

func TestRelayOnlyGoesThroughTURN(t *testing.T) {
	_, addr := startTURN(t, "127.0.0.1:0")
	a, b, ln := relayPair(t, addr, nil)
	dialed, accepted := connect(t, a, b, ln)
	for name, c := range map[string]sdk.Conn{"dialed": dialed, "accepted": accepted} {
		if p := c.(sdk.PathReporter).Path(); p != sdk.PathWebRTCRelay {
			t.Errorf("%s Path: want %q, got %q", name, sdk.PathWebRTCRelay, p)
		}
	}
	data := make([]byte, 5<<20)
	_, _ = rand.Read(data)
	go func() { _, _ = dialed.Write(data); _ = dialed.CloseWrite() }()
	h := sha256.New()
	n, err := io.Copy(h, accepted)
	if want := sha256.Sum256(data); err != nil || n != int64(len(data)) || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("through the relay: want %d bytes with sha256 %x, got %d with %x (err %v)", len(data), want, n, h.Sum(nil), err)
	}
}

func TestRelayOnlyWithoutTURNServerFailsClearly(t *testing.T) {
	c := testConfig()
	c.RelayOnly = true
	a := newNode(t, "dpc-node-a", c)
	_, err := a.p.Dial(t.Context(), sdk.DialRequest{ExpectedNodeID: "dpc-node-b"})
	if !errors.Is(err, sdk.ErrUnavailable) || !bytes.Contains([]byte(err.Error()), []byte("no TURN server")) {
		t.Fatalf("want ErrUnavailable saying there is no TURN server, got %v", err)
	}
}

func TestRelayLossRecoversByICERestart(t *testing.T) {
	// The TURN server dies and a new one (same address and credentials,
	// no allocations) takes its place: the dialer sees ICE disconnected,
	// sends a restart offer, both sides allocate anew and the stream goes on
	// with nothing lost.
	first, addr := startTURN(t, "127.0.0.1:0")
	a, b, ln := relayPair(t, addr, nil)
	dialed, accepted := connect(t, a, b, ln)
	echo(t, dialed, accepted, "before")

	_ = first.Close()
	startTURN(t, addr)
	// Written while the path is down: SCTP resends it once it is back.
	if _, err := dialed.Write([]byte("after")); err != nil {
		t.Fatalf("Write while the path is down: %v", err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(accepted, buf); err != nil || string(buf) != "after" {
		t.Fatalf("after the ICE restart: want %q, got %q (err %v)", "after", buf, err)
	}
	restarted := false
	for _, s := range a.host.Signals() {
		var m struct {
			Restart bool `json:"restart"`
		}
		if s.Type == "webrtc-offer" && json.Unmarshal(s.Payload, &m) == nil && m.Restart {
			restarted = true
		}
	}
	if !restarted {
		t.Errorf("want the dialer to have sent a webrtc-offer with restart: true")
	}
	if p := dialed.(sdk.PathReporter).Path(); p != sdk.PathWebRTCRelay {
		t.Errorf("Path after the restart: want %q, got %q", sdk.PathWebRTCRelay, p)
	}
	echo(t, accepted, dialed, "back")
}

func TestRelayLossEndsTheConnectionInBoundedTime(t *testing.T) {
	// The TURN server dies for good: both ends give up after
	// reconnect_timeout_ms and Read fails (never hangs).
	srv, addr := startTURN(t, "127.0.0.1:0")
	a, b, ln := relayPair(t, addr, func(c *rtc.Config) { c.ReconnectTimeoutMS = 2000 })
	dialed, accepted := connect(t, a, b, ln)
	echo(t, dialed, accepted, "before")

	_ = srv.Close()
	start := time.Now()
	errs := make(chan error, 2)
	go func() { errs <- readErr(dialed) }()
	go func() { errs <- readErr(accepted) }()
	pathLost := 0
	for range 2 {
		err := <-errs
		switch {
		case errors.Is(err, rtc.ErrPathLost):
			pathLost++
		case errors.Is(err, rtc.ErrClosedByPeer):
		default:
			t.Errorf("Read after the relay died: want ErrPathLost or ErrClosedByPeer, got %v", err)
		}
	}
	if pathLost == 0 {
		t.Errorf("want at least one side to report ErrPathLost")
	}
	// ICE notices after ~5 s without answers, then 2 s of restarts.
	if took := time.Since(start); took > 60*time.Second {
		t.Errorf("the connection took %v to end", took)
	}
}

// echo writes msg on from and reads it on to.
func echo(t testing.TB, from, to sdk.Conn, msg string) {
	t.Helper()
	if _, err := from.Write([]byte(msg)); err != nil {
		t.Fatalf("Write %q: %v", msg, err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(to, buf); err != nil || string(buf) != msg {
		t.Fatalf("want %q, got %q (err %v)", msg, buf, err)
	}
}
