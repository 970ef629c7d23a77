package session

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/sdk"
)

// tcpConn is an sdk.Conn over a loopback TCP connection.
type tcpConn struct{ *net.TCPConn }

func (c tcpConn) LocalAddress() string  { return c.LocalAddr().String() }
func (c tcpConn) RemoteAddress() string { return c.RemoteAddr().String() }

// pair returns the two ends of a loopback TCP connection.
func pair(t *testing.T) (sdk.Conn, sdk.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := <-accepted
	t.Cleanup(func() { d.Close(); a.Close() })
	return tcpConn{d.(*net.TCPConn)}, tcpConn{a.(*net.TCPConn)}
}

func newIdentity(t *testing.T, kt identity.KeyType) *identity.Identity {
	t.Helper()
	id, err := identity.Create(filepath.Join(t.TempDir(), "id"), kt)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

type result struct {
	s   *Session
	err error
}

// handshakeLimit bounds the test servers' handshakes: a safety net far
// above what a loaded machine needs (no test waits for it to pass).
const handshakeLimit = time.Minute

func runServer(t *testing.T, c sdk.Conn, id *identity.Identity, lim *Limiter) chan result {
	return runServerWith(c, Options{Identity: id, Name: "server", HandshakeTimeout: handshakeLimit}, lim)
}

func runServerWith(c sdk.Conn, o Options, lim *Limiter) chan result {
	ch := make(chan result, 1)
	go func() {
		s, err := Server(context.Background(), c, o, lim)
		ch <- result{s, err}
	}()
	return ch
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	kinds := map[string][2]identity.KeyType{
		"ed25519 to ed25519": {identity.KeyEd25519, identity.KeyEd25519},
		"rsa to ed25519":     {identity.KeyRSA, identity.KeyEd25519},
		"ed25519 to rsa":     {identity.KeyEd25519, identity.KeyRSA},
		"rsa to rsa":         {identity.KeyRSA, identity.KeyRSA},
	}
	// Native peers talk natively whether D-PC v1 compatibility is on or off.
	for name, kt := range kinds {
		for _, v1 := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, v1 compatibility %v", name, v1), func(t *testing.T) {
				t.Parallel()
				testNativeHandshake(t, kt, v1)
			})
		}
	}
}

func testNativeHandshake(t *testing.T, kt [2]identity.KeyType, v1 bool) {
	cid, sid := newIdentity(t, kt[0]), newIdentity(t, kt[1])
	cc, sc := pair(t)
	srv := runServerWith(sc, Options{Identity: sid, Name: "server", HandshakeTimeout: handshakeLimit, DPCv1: v1}, nil)
	cs, err := Client(context.Background(), cc, Options{Identity: cid, Name: "client", DPCv1: v1}, sid.NodeID)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	r := <-srv
	if r.err != nil {
		t.Fatalf("server: %v", r.err)
	}
	if cs.PeerID != sid.NodeID || r.s.PeerID != cid.NodeID || cs.PeerName != "server" || r.s.PeerName != "client" {
		t.Errorf("want each side to see the other's node_id and name, got %q/%q and %q/%q", cs.PeerID, cs.PeerName, r.s.PeerID, r.s.PeerName)
	}
	if !cs.Outbound || r.s.Outbound {
		t.Errorf("Outbound: want client true and server false")
	}
	if err := cs.Send("PING_TEST", nil); err != nil {
		t.Fatal(err)
	}
	if f, err := r.s.Read(); err != nil || f.Command != "PING_TEST" {
		t.Errorf("a frame after the handshake: want PING_TEST, got %+v (err %v)", f, err)
	}
	if cs.V1 || r.s.V1 {
		t.Errorf("want a native session on both sides, got V1 %v/%v", cs.V1, r.s.V1)
	}
	// Each side learned the other's envelope key, bound to its node key.
	if cs.PeerEnvelopeKey == nil || !cs.PeerEnvelopeKey.Equal(sid.EnvelopeKey.PublicKey()) ||
		r.s.PeerEnvelopeKey == nil || !r.s.PeerEnvelopeKey.Equal(cid.EnvelopeKey.PublicKey()) {
		t.Errorf("want each side to hold the other's envelope key")
	}
	if cs.PeerCert == nil || r.s.PeerCert == nil || !cs.PeerCert.Equal(sid.Certificate) {
		t.Errorf("want each side to hold the other's certificate")
	}
	if v := cs.tls.ConnectionState().Version; v != tls.VersionTLS13 {
		t.Errorf("want TLS 1.3, got %x", v)
	}
}

func TestWrongPeerIsRefused(t *testing.T) {
	t.Parallel()
	cid, sid, other := newIdentity(t, identity.KeyEd25519), newIdentity(t, identity.KeyEd25519), newIdentity(t, identity.KeyEd25519)
	cc, sc := pair(t)
	srv := runServer(t, sc, sid, nil)
	_, err := Client(context.Background(), cc, Options{Identity: cid}, other.NodeID)
	if !errors.Is(err, ErrPeerMismatch) {
		t.Errorf("dialing %s but reaching %s: want ErrPeerMismatch, got %v", other.NodeID, sid.NodeID, err)
	}
	if r := <-srv; r.err == nil {
		t.Errorf("server: want the handshake to fail too")
	}
}

// forgedCert is a certificate whose CN claims a node_id its key does not hash to.
func forgedCert(t *testing.T, claim string) tls.Certificate {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: claim},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestServerRefusesBadClients(t *testing.T) {
	t.Parallel()
	sid, victim := newIdentity(t, identity.KeyEd25519), newIdentity(t, identity.KeyEd25519)
	tests := map[string]struct {
		cfg  *tls.Config
		want error
	}{
		"a CN that is not the node_id of the key": {
			cfg:  &tls.Config{Certificates: []tls.Certificate{forgedCert(t, victim.NodeID)}, NextProtos: []string{ALPN}},
			want: ErrBadCertificate,
		},
		"no ALPN dptp/1": {
			cfg:  &tls.Config{Certificates: []tls.Certificate{newIdentity(t, identity.KeyEd25519).TLSCertificate()}},
			want: ErrProtocol,
		},
		"dptp/1 without a client certificate": {
			cfg:  &tls.Config{NextProtos: []string{ALPN}},
			want: ErrBadCertificate,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cc, sc := pair(t)
			srv := runServer(t, sc, sid, nil)
			tc.cfg.InsecureSkipVerify, tc.cfg.MinVersion = true, tls.VersionTLS13
			go func() { _ = tls.Client(cc.(tcpConn).TCPConn, tc.cfg).Handshake() }()
			if r := <-srv; !errors.Is(r.err, tc.want) {
				t.Errorf("want %v, got %v", tc.want, r.err)
			}
		})
	}
}

func TestFailedHandshakesAreRateLimited(t *testing.T) {
	t.Parallel()
	sid := newIdentity(t, identity.KeyEd25519)
	lim := NewLimiter(time.Hour, 2)
	// Bare connects that send nothing (port probes, such as the one D-PC v1
	// makes before each dial) are not failures.
	for range 5 {
		cc, sc := pair(t)
		srv := runServer(t, sc, sid, lim)
		_ = cc.Close()
		if r := <-srv; r.err == nil || errors.Is(r.err, ErrRateLimited) {
			t.Fatalf("bare connect: want a plain failure, not counted, got %v", r.err)
		}
	}
	for i := range 3 {
		cc, sc := pair(t)
		srv := runServer(t, sc, sid, lim)
		// Bytes that are not a TLS ClientHello: a failed handshake.
		_, _ = cc.Write([]byte("this is not TLS\r\n\r\n"))
		_ = cc.Close()
		r := <-srv
		if i < 2 && (r.err == nil || errors.Is(r.err, ErrRateLimited)) {
			t.Errorf("attempt %d: want a handshake failure, got %v", i+1, r.err)
		}
		if i == 2 && !errors.Is(r.err, ErrRateLimited) {
			t.Errorf("attempt 3: want ErrRateLimited, got %v", r.err)
		}
	}
}

func TestNetConnReadDeadline(t *testing.T) {
	t.Parallel()
	a, _ := pair(t)
	nc := newNetConn(a)
	defer nc.Close()
	_ = nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	_, err := nc.Read(make([]byte, 1))
	// Without the deadline, Read would wait for ever: the bound only
	// catches that, far above what a loaded machine needs.
	if !errors.Is(err, errDeadline) || time.Since(start) > time.Minute {
		t.Errorf("want a deadline error after ~50ms, got %v after %s", err, time.Since(start))
	}
}

// TestForgedEnvelopeKeyIsRefused: a node that presents another node's
// envelope key and binding in its HELLO (so that channel keys meant for it
// would be sealed to a key it chose, or to the other node) fails the
// handshake, whoever dials.
func TestForgedEnvelopeKeyIsRefused(t *testing.T) {
	t.Parallel()
	mallory, victim, honest := newIdentity(t, identity.KeyEd25519), newIdentity(t, identity.KeyEd25519), newIdentity(t, identity.KeyEd25519)
	// Mallory's HELLO carries the victim's envelope key and binding.
	forged := *mallory
	forged.EnvelopeKey, forged.EnvelopeBinding = victim.EnvelopeKey, victim.EnvelopeBinding
	cc, sc := pair(t)
	srv := runServer(t, sc, honest, nil)
	_, cerr := Client(context.Background(), cc, Options{Identity: &forged, Name: "mallory"}, honest.NodeID)
	r := <-srv
	if !errors.Is(r.err, ErrProtocol) || !strings.Contains(r.err.Error(), "envelope key") {
		t.Fatalf("server: want ErrProtocol about the envelope key, got %v (client: %v)", r.err, cerr)
	}
}
