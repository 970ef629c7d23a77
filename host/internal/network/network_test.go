package network

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk/dpcuri"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/files"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
	"github.com/dpc-go/dpc/host/internal/store"
	"github.com/dpc-go/dpc/sdk"
)

// tcpTransport is an in-process loopback TCP transport for these tests.
// Its Listen hands out ln when set: bound before the node starts, so the
// node accepts connections (in the kernel's backlog) from its first moment
// and no other test can take its port in between.
type tcpTransport struct{ ln net.Listener }

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

func (tcpTransport) Info() sdk.Info                                        { return sdk.Info{} }
func (tcpTransport) Configure(context.Context, sdk.ConfigureRequest) error { return nil }
func (tcpTransport) Shutdown(context.Context) error                        { return nil }
func (t tcpTransport) Listen(_ context.Context, r sdk.ListenRequest) (sdk.Listener, error) {
	if t.ln != nil {
		return tcpListener{t.ln}, nil
	}
	ln, err := net.Listen("tcp", r.Addresses[0])
	return tcpListener{ln}, err
}
func (tcpTransport) Dial(ctx context.Context, r sdk.DialRequest) (sdk.Conn, error) {
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
func (t tcpTransport) Transports() []sdk.Transport { return []sdk.Transport{t} }

// testNode is one Network with everything it needs, in a temp dir.
type testNode struct {
	*Network
	id    *identity.Identity
	chat  *chat.Store
	peers *peers.Store
	addr  string
}

func newTestNode(t *testing.T, name string) *testNode {
	t.Helper()
	return newTestNodeWith(t, name, func(*Options) {})
}

// newTestNodeWith is newTestNode with options changed by edit.
func newTestNodeWith(t *testing.T, name string, edit func(*Options)) *testNode {
	t.Helper()
	dir := t.TempDir()
	id, err := identity.Create(filepath.Join(dir, "identity"), identity.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	fwPath := filepath.Join(dir, "firewall.hcl")
	if err := os.WriteFile(fwPath, []byte(firewall.DefaultFile), 0o600); err != nil {
		t.Fatal(err)
	}
	fw, err := firewall.Load(fwPath, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	ps, err := peers.New(st)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	cs := chat.New(st)
	o := Options{Identity: id, Name: name, Logger: hclog.NewNullLogger(), Listen: []string{addr},
		Transports: tcpTransport{ln: ln}, Peers: ps, Chat: cs, Files: files.New(st, filepath.Join(dir, "files")), Firewall: fw,
		RedialMin: 50 * time.Millisecond, RedialMax: time.Second}
	edit(&o)
	n := New(o)
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); n.Stop() })
	return &testNode{Network: n, id: id, chat: cs, peers: ps, addr: addr}
}

func (tn *testNode) uri() string {
	host, port, _ := net.SplitHostPort(tn.addr)
	return fmt.Sprintf("dpc://%s:%s?node_id=%s", host, port, tn.id.NodeID)
}

// waitFor polls ok, a real condition, for up to 60s: a safety net far
// above what a loaded machine needs.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// rawSession dials tn with a fresh identity, as a peer that speaks raw DPTP.
func rawSession(t *testing.T, tn *testNode) (*session.Session, *identity.Identity) {
	t.Helper()
	id := rawIdentity(t)
	return rawSessionAs(t, tn, id), id
}

// rawIdentity is a fresh node identity for rawSessionAs.
func rawIdentity(t *testing.T) *identity.Identity {
	t.Helper()
	id, err := identity.Create(filepath.Join(t.TempDir(), "raw"), identity.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// rawSessionAs dials tn as id, a peer that speaks raw DPTP.
func rawSessionAs(t *testing.T, tn *testNode, id *identity.Identity) *session.Session {
	t.Helper()
	c, err := tcpTransport{}.Dial(context.Background(), sdk.DialRequest{URI: tn.uri()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := session.Client(context.Background(), c, session.Options{Identity: id, Name: "raw"}, tn.id.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// next reads frames until one of the given command arrives.
func next(t *testing.T, s *session.Session, command string) dptp.Frame {
	t.Helper()
	for {
		f, err := s.Read()
		if err != nil {
			t.Fatalf("waiting for %s: %v", command, err)
		}
		if f.Command == command {
			return f
		}
	}
}

func TestBadFramesAreAnsweredAndTheSessionGoesOn(t *testing.T) {
	t.Parallel()
	b := newTestNode(t, "bob")
	s, _ := rawSession(t, b)
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
		e, err := dptp.Decode[dptp.ErrorReply](next(t, s, dptp.CmdError))
		if err != nil || e.Code != tc.wantCode {
			t.Errorf("%s: want ERROR %s, got %+v (err %v)", name, tc.wantCode, e, err)
		}
	}
	// Still alive: a stranger's valid message is held as a contact request.
	if err := s.Send(dptp.CmdSendText, dptp.SendText{MessageID: "ok1", Text: "hi", SentAt: dptp.Now()}); err != nil {
		t.Fatal(err)
	}
	a, err := dptp.Decode[dptp.Ack](next(t, s, dptp.CmdAck))
	if err != nil || a.MessageID != "ok1" || a.Status != dptp.AckHeld {
		t.Errorf("after bad frames: want ACK held for ok1, got %+v (err %v)", a, err)
	}
}

func TestDuplicateMessagesAreStoredOnce(t *testing.T) {
	t.Parallel()
	b := newTestNode(t, "bob")
	s, raw := rawSession(t, b)
	sent := dptp.Now()
	for range 3 {
		if err := s.Send(dptp.CmdSendText, dptp.SendText{MessageID: "same", Text: "once", SentAt: sent}); err != nil {
			t.Fatal(err)
		}
		if a, err := dptp.Decode[dptp.Ack](next(t, s, dptp.CmdAck)); err != nil || a.MessageID != "same" {
			t.Fatalf("want every copy acknowledged, got %+v (err %v)", a, err)
		}
	}
	h, err := b.chat.History(raw.NodeID, time.Time{}, 0)
	if err != nil || len(h) != 1 {
		t.Errorf("want the message stored once, got %d (err %v)", len(h), err)
	}
}

func TestHistorySyncTakesOnlyOurConversation(t *testing.T) {
	t.Parallel()
	a, b := newTestNode(t, "alice"), newTestNode(t, "bob")
	// Bob has a message to Alice she never got, and a forged entry claiming
	// to be from a third node.
	third := "dpc-node-33333333333333333333333333333333"
	when := time.Now().UTC().Truncate(time.Millisecond)
	for _, m := range []chat.Message{
		{ID: "missed", Peer: a.id.NodeID, From: b.id.NodeID, To: a.id.NodeID, Text: "you missed this", SentAt: when, State: chat.StateDelivered},
		{ID: "forged", Peer: a.id.NodeID, From: third, To: a.id.NodeID, Text: "forged", SentAt: when, State: chat.StateReceived},
	} {
		if _, err := b.chat.AddIncoming(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.peers.Update(a.id.NodeID, func(p *peers.Peer) { p.Contact = true }); err != nil {
		t.Fatal(err)
	}
	events := subscribe(t, a.Network)
	if _, err := a.Connect(context.Background(), b.uri(), ConnectOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, events, "history_synced", b.id.NodeID)
	h, _ := a.chat.History(b.id.NodeID, time.Time{}, 0)
	if len(h) != 1 || h[0].ID != "missed" || h[0].State != chat.StateReceived {
		t.Errorf("want only the missed message, got %+v", h)
	}
}

func TestSimultaneousDialsKeepOneSession(t *testing.T) {
	t.Parallel()
	a, b := newTestNode(t, "alice"), newTestNode(t, "bob")
	done := make(chan error, 2)
	go func() { _, err := a.Connect(context.Background(), b.uri(), ConnectOptions{}); done <- err }()
	go func() { _, err := b.Connect(context.Background(), a.uri(), ConnectOptions{}); done <- err }()
	<-done
	<-done
	if _, err := a.Send(b.id.NodeID, "after the race"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery over the surviving session", func() bool {
		h, _ := a.chat.History(b.id.NodeID, time.Time{}, 0)
		return len(h) == 1 && h[0].State == chat.StateDelivered
	})
	st, _ := a.Peers()
	if len(st) != 1 || st[0].State != "connected" {
		t.Errorf("want bob connected, got %+v", st)
	}
}

func TestNeverReachedContactIsGivenUp(t *testing.T) {
	t.Parallel()
	a := newTestNodeWith(t, "alice", func(o *Options) { o.GiveUpAfter = 3 })
	dead := newTestNode(t, "nobody")
	uri := "dpc://127.0.0.1:1?node_id=" + dead.id.NodeID // nothing listens on port 1
	events, done := a.Bus().Subscribe()
	defer done()
	if _, err := a.Connect(context.Background(), uri, ConnectOptions{}); err == nil {
		t.Fatal("connect to a dead address: want an error")
	}
	deadline := time.After(time.Minute)
	for {
		select {
		case e := <-events:
			if st, ok := e.Data.(map[string]string); ok && e.Peer == dead.id.NodeID && strings.Contains(st["reason"], "gave up after 3 attempts") {
				p, _ := a.Peers()
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
