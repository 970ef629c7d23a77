package nettest

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/session"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// loopback is an in-process loopback TCP transport. Its Listen hands out
// ln when set.
type loopback struct{ ln net.Listener }

type tcpConn struct{ *net.TCPConn }

func (c tcpConn) LocalAddress() string  { return c.LocalAddr().String() }
func (c tcpConn) RemoteAddress() string { return c.RemoteAddr().String() }

type tcpListener struct{ net.Listener }

func (l tcpListener) Accept() (sdk.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tcpConn{c.(*net.TCPConn)}, nil
}
func (l tcpListener) Addresses() []string { return []string{l.Addr().String()} }
func (l tcpListener) URIs() []string      { return nil }

func (loopback) Info() sdk.Info                                        { return sdk.Info{} }
func (loopback) Configure(context.Context, sdk.ConfigureRequest) error { return nil }
func (loopback) Shutdown(context.Context) error                        { return nil }
func (t loopback) Listen(_ context.Context, r sdk.ListenRequest) (sdk.Listener, error) {
	if t.ln != nil {
		return tcpListener{t.ln}, nil
	}
	ln, err := net.Listen("tcp", r.Addresses[0])
	return tcpListener{ln}, err
}
func (loopback) Dial(ctx context.Context, r sdk.DialRequest) (sdk.Conn, error) {
	u, err := dpcuri.Parse(r.URI)
	if err != nil {
		return nil, err
	}
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(u.Host, fmt.Sprint(u.Port)))
	if err != nil {
		return nil, err
	}
	return tcpConn{c.(*net.TCPConn)}, nil
}
func (t loopback) Transports() []sdk.Transport { return []sdk.Transport{t} }

// Loopback is a node on an in-process TCP transport with the network
// options changed by edit (nil: none).
func Loopback(tb testing.TB, name string, edit func(*network.Options)) *Node {
	tb.Helper()
	return NewNode(tb, Options{Name: name, Loopback: true, Edit: edit})
}

// WaitFor polls ok, a real condition, for up to WaitLimit: a safety net
// far above what a loaded machine needs.
func WaitFor(tb testing.TB, what string, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(WaitLimit)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("timed out waiting for %s", what)
}

// RawSession dials n with a fresh identity, as a peer that speaks raw DPTP.
func RawSession(tb testing.TB, n *Node) (*session.Session, *identity.Identity) {
	tb.Helper()
	id := RawIdentity(tb)
	return RawSessionAs(tb, n, id), id
}

// RawIdentity is a fresh node identity for RawSessionAs.
func RawIdentity(tb testing.TB) *identity.Identity {
	tb.Helper()
	id, err := identity.Create(filepath.Join(tb.TempDir(), "raw"), identity.KeyEd25519)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// RawSessionAs dials n as id, a peer that speaks raw DPTP.
func RawSessionAs(tb testing.TB, n *Node, id *identity.Identity) *session.Session {
	tb.Helper()
	c, err := loopback{}.Dial(context.Background(), sdk.DialRequest{URI: n.URI()})
	if err != nil {
		tb.Fatal(err)
	}
	s, err := session.Client(context.Background(), c, session.Options{Identity: id, Name: "raw"}, n.ID.NodeID)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// Next reads frames of s until one of command arrives.
func Next(tb testing.TB, s *session.Session, command string) dptp.Frame {
	tb.Helper()
	for {
		f, err := s.Read()
		if err != nil {
			tb.Fatalf("waiting for %s: %v", command, err)
		}
		if f.Command == command {
			return f
		}
	}
}

// SendText sends a SEND_TEXT and returns the node's ACK.
func SendText(t testing.TB, s *session.Session, id, text string) dptp.Ack {
	t.Helper()
	if err := s.Send(dptp.CmdSendText, dptp.SendText{MessageID: id, Text: text, SentAt: dptp.Now()}); err != nil {
		t.Fatal(err)
	}
	a, err := dptp.Decode[dptp.Ack](Next(t, s, dptp.CmdAck))
	if err != nil || a.MessageID != id {
		t.Fatalf("want the ACK of %s, got %+v (err %v)", id, a, err)
	}
	return a
}

// NextEvent returns the next event on events of one of types, skipping
// others.
func NextEvent(t testing.TB, events <-chan network.Event, types ...string) network.Event {
	t.Helper()
	timeout := time.After(WaitLimit)
	for {
		select {
		case e := <-events:
			if slices.Contains(types, e.Type) {
				return e
			}
		case <-timeout:
			t.Fatalf("no %q event within %s", types, WaitLimit)
		}
	}
}
