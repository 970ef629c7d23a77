package session

import (
	"context"
	"crypto/ecdh"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/dpc-go/dpc/sdk/dpcuri"
	"slices"
	"time"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/sdk"
)

// Options configure both sides of a handshake.
type Options struct {
	Identity *identity.Identity
	// Name is this node's display name, sent in HELLO.
	Name     string
	Software string
	// Capabilities this node announces in HELLO.
	Capabilities []string
	// HandshakeTimeout bounds TLS + HELLO; zero means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxFrame is the largest DPTP frame accepted from a trusted peer (see
	// Session.Trust); zero means dptp.DefaultMaxFrameSize.
	MaxFrame int
	// DPCv1 lets a D-PC Messenger v1 peer (no ALPN dptp/1) through D-PC's
	// own handshake; it needs an RSA identity. On the dialing side it is
	// set only for a peer the user marked as D-PC v1: v1 is never a
	// fallback, because its nonce signature is not bound to the channel and
	// a peer that merely declines ALPN could relay it to impersonate us.
	DPCv1 bool
	// NoV1Reason says why DPCv1 is off, for the error a peer without
	// dptp/1 gets; "" means compatibility is off in dpc.hcl.
	NoV1Reason string
	// AcceptV1, if set, decides on the accepting side whether a node_id
	// that proved its key through D-PC v1's handshake may have a v1
	// session (downgrade pinning); an error refuses it, before HELLO_ACK.
	AcceptV1 func(nodeID string) error
	// Gate, on the accepting side, bounds the connections in their
	// handshake (nil: unbounded).
	Gate *Gate
}

// StrangerMaxFrame is the largest DPTP frame accepted during the handshake
// and, after it, until Session.Trust: a peer that is not a contact gets no
// more. It holds the largest text message (dptp.MaxTextLen) even if JSON
// escaping quadruples it.
const StrangerMaxFrame = 256 << 10

// DefaultHandshakeTimeout bounds TLS + HELLO. It is short because every
// connection in its handshake holds memory a stranger chose to make us
// spend; a real peer needs a few round trips.
const DefaultHandshakeTimeout = 10 * time.Second

// Session is an authenticated DPTP session with one peer.
type Session struct {
	// PeerID is the peer's node_id, derived from its certificate key.
	PeerID   string
	PeerName string
	// PeerSoftware and PeerCapabilities come from the peer's HELLO.
	PeerSoftware     string
	PeerCapabilities []string
	// Outbound is true on the side that dialed.
	Outbound bool
	// Remote is the transport's address for the peer.
	Remote string
	// Path is how the bytes travel (sdk.PathDirect, PathWebRTC,
	// PathWebRTCRelay), as the transport reports it; direct when it does
	// not say.
	Path string
	// V1 is true for a D-PC Messenger v1 peer. Its authentication is weaker
	// than a native session's: it proved its key by signing a nonce that is
	// not bound to this TLS channel.
	V1 bool
	// PeerCert is the peer's certificate, whose key derives PeerID.
	PeerCert *x509.Certificate
	// PeerEnvelopeKey is the peer's X25519 envelope key from its HELLO,
	// with the binding signature (PeerEnvelopeBinding) checked against
	// PeerCert's key; nil when the peer sent none (D-PC v1, older nodes).
	PeerEnvelopeKey     *ecdh.PublicKey
	PeerEnvelopeBinding []byte

	tls *tls.Conn
	r   *dptp.Reader
	w   *dptp.Writer
	// maxFrame is the frame limit once trusted.
	maxFrame int
}

// Client runs the dialing side: the peer must prove it is expected.
func Client(ctx context.Context, c sdk.Conn, o Options, expected string) (*Session, error) {
	if !dpcuri.ValidNodeID(expected) {
		_ = c.Close()
		return nil, fmt.Errorf("%w: %q is not a node_id", ErrPeerMismatch, expected)
	}
	nc := newNetConn(c)
	s, err := handshake(ctx, tls.Client(nc, tlsConfig(o.Identity, expected, o.DPCv1, o.NoV1Reason)), o, true, c.RemoteAddress(), expected)
	if err == nil {
		s.Path = pathOf(c)
	}
	return s, err
}

// pathOf is how c's bytes travel, as its transport says.
func pathOf(c sdk.Conn) string {
	if p, ok := c.(sdk.PathReporter); ok && p.Path() != "" {
		return p.Path()
	}
	return sdk.PathDirect
}

// Server runs the accepting side; it learns who connected. limiter may be
// nil; when set, failures count against the source and a source over its
// limit is refused before the TLS handshake. o.Gate, when set, bounds the
// handshakes in progress (see Gate).
func Server(ctx context.Context, c sdk.Conn, o Options, limiter *Limiter) (*Session, error) {
	remote := c.RemoteAddress()
	if limiter != nil && !limiter.Allowed(remote) {
		_ = c.Close()
		return nil, fmt.Errorf("%w: %s", ErrRateLimited, sourceKey(remote))
	}
	nc := newNetConn(c)
	var ticket *Ticket
	if o.Gate != nil {
		ticket = o.Gate.enter(remote, nc)
	}
	s, err := handshake(ctx, tls.Server(nc, tlsConfig(o.Identity, "", o.DPCv1, o.NoV1Reason)), o, false, remote, "")
	shed := ticket != nil && ticket.leave()
	switch {
	case err == nil && shed:
		// Closed by the gate just as the handshake finished.
		_ = s.Close()
		s, err = nil, ErrShed
	case err == nil:
		s.Path = pathOf(c)
	case shed:
		err = fmt.Errorf("%w: %w", ErrShed, err)
	case !nc.heard.Load():
		err = fmt.Errorf("%w: %w", ErrNothingSent, err)
	case limiter != nil:
		limiter.Failed(remote)
	}
	return s, err
}

// ErrNothingSent marks a connection that closed or timed out before it
// sent a single byte: a port probe, such as the bare TCP connect D-PC v1
// makes before each dial, or an idle connection. It is not counted as a
// failed handshake: it cost no TLS work, and idle connections are bounded
// by the Gate and the handshake timeout instead.
var ErrNothingSent = errors.New("the connection sent nothing before it closed or timed out")

func handshake(ctx context.Context, tc *tls.Conn, o Options, outbound bool, remote, expected string) (*Session, error) {
	timeout := o.HandshakeTimeout
	if timeout == 0 {
		timeout = DefaultHandshakeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fail := func(err error) (*Session, error) {
		_ = tc.Close()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w after %s: %w", ErrHandshakeTimeout, timeout, err)
		}
		return nil, err
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		return fail(fmt.Errorf("TLS handshake with %s: %w", remote, err))
	}
	cs := tc.ConnectionState()
	peer := leafNodeID(cs)
	maxFrame := o.MaxFrame
	if maxFrame == 0 {
		maxFrame = dptp.DefaultMaxFrameSize
	}
	var peerCert *x509.Certificate
	if len(cs.PeerCertificates) > 0 {
		peerCert = cs.PeerCertificates[0]
	}
	s := &Session{PeerID: peer, PeerCert: peerCert, Outbound: outbound, Remote: remote, tls: tc,
		r: dptp.NewReader(tc, min(maxFrame, StrangerMaxFrame)), w: dptp.NewWriter(tc), maxFrame: maxFrame}
	if cs.NegotiatedProtocol != ALPN {
		// tlsConfig let a peer without dptp/1 through only with DPCv1 on.
		dl, _ := ctx.Deadline()
		_ = tc.SetDeadline(dl)
		s.V1 = true
		var err error
		if outbound {
			err = v1Client(s, o, expected)
		} else {
			err = v1Server(s, o)
		}
		if err != nil {
			return fail(fmt.Errorf("D-PC v1 handshake with %s: %w", remote, err))
		}
		_ = tc.SetDeadline(time.Time{})
		return s, nil
	}

	// Both sides send HELLO first, then read the peer's.
	dl, _ := ctx.Deadline()
	_ = tc.SetDeadline(dl)
	hello := dptp.Hello{NodeID: o.Identity.NodeID, Name: o.Name, Protocol: ALPN,
		Capabilities: o.Capabilities, Software: o.Software}
	if o.Identity.EnvelopeKey != nil {
		hello.EnvelopeKey, hello.EnvelopeBinding = o.Identity.EnvelopeKey.PublicKey().Bytes(), o.Identity.EnvelopeBinding
	}
	if err := s.w.Write(dptp.CmdHello, hello); err != nil {
		return fail(fmt.Errorf("sending HELLO to %s: %w", peer, err))
	}
	f, err := s.r.Read()
	if err != nil {
		return fail(fmt.Errorf("reading HELLO from %s: %w", peer, err))
	}
	if f.Command != dptp.CmdHello {
		return fail(fmt.Errorf("%w: first frame from %s is %s, want HELLO", ErrProtocol, peer, f.Command))
	}
	h, err := dptp.Decode[dptp.Hello](f)
	if err != nil {
		return fail(fmt.Errorf("%w: HELLO from %s: %w", ErrProtocol, peer, err))
	}
	if h.NodeID != peer {
		return fail(fmt.Errorf("%w: HELLO claims %s but the certificate key is %s", ErrPeerMismatch, h.NodeID, peer))
	}
	if len(h.EnvelopeKey) != 0 {
		// A key others will seal to must be the peer's own: its node key
		// signed it. A forged binding is a lie about the peer, not a gap.
		if err := identity.VerifyEnvelopeBinding(peer, peerCert.PublicKey, h.EnvelopeKey, h.EnvelopeBinding); err != nil {
			return fail(fmt.Errorf("%w: HELLO from %s: envelope key: %w", ErrProtocol, peer, err))
		}
		k, err := ecdh.X25519().NewPublicKey(h.EnvelopeKey)
		if err != nil {
			return fail(fmt.Errorf("%w: HELLO from %s: envelope key: %w", ErrProtocol, peer, err))
		}
		s.PeerEnvelopeKey, s.PeerEnvelopeBinding = k, slices.Clone(h.EnvelopeBinding)
	}
	_ = tc.SetDeadline(time.Time{})
	s.PeerName, s.PeerSoftware, s.PeerCapabilities = h.Name, h.Software, slices.Clone(h.Capabilities)
	return s, nil
}

// Trust raises the frame limit from StrangerMaxFrame to the full one
// (Options.MaxFrame), for a peer that is a contact. It is safe to call
// while another goroutine is in Read.
func (s *Session) Trust() { s.r.SetMax(s.maxFrame) }

// Read returns the next frame from the peer.
func (s *Session) Read() (dptp.Frame, error) { return s.r.Read() }

// Send writes one frame; safe for concurrent use.
func (s *Session) Send(command string, payload any) error { return s.w.Write(command, payload) }

// Close ends the session.
func (s *Session) Close() error { return s.tls.Close() }
