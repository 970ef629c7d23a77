package dpcv1ref

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Timeouts and limits of the Python node (§4.7, §5.1).
const (
	// TLSHandshakeTimeout is asyncio's default ssl_handshake_timeout, the
	// only limit the Python server puts on an incoming connection before
	// HELLO (it waits for HELLO itself forever).
	TLSHandshakeTimeout = 60 * time.Second
	// ConnectTimeout bounds the dialler's pre-flight connect and its TCP+TLS
	// open: the default config.ini's p2p.connection_timeout.
	ConnectTimeout = 30 * time.Second
	// ChallengeDelay is the asyncio.sleep(0.01) before HELLO_CHALLENGE.
	ChallengeDelay = 10 * time.Millisecond
	// RateLimitFailures failed handshakes from one IP within RateLimitWindow
	// get that IP's later connections closed right after TLS (§5.1).
	RateLimitFailures = 10
	// RateLimitWindow is the failed-handshake window (§5.1).
	RateLimitWindow = 300 * time.Second
)

// Reasons a listening peer records in [Peer.Rejected] when it refuses a
// handshake. In every case it closes the connection without an error frame
// (§4.4). All but RejectRateLimited count towards the rate limit (§5.1).
const (
	// RejectRateLimited: the source IP already had RateLimitFailures failed
	// handshakes in RateLimitWindow; closed right after TLS, no challenge.
	RejectRateLimited = "rate limited"
	// RejectNoHello: the first frame after HELLO_CHALLENGE was missing (EOF,
	// bad header, bad JSON), empty, not an object, not "command": "HELLO",
	// or its payload was not an object.
	RejectNoHello = "invalid HELLO message"
	// RejectNoNodeID: the HELLO payload had no (or an empty) node_id.
	RejectNoNodeID = "HELLO without node_id"
	// RejectOutdated: the HELLO payload lacked cert_pem or nonce_signature
	// ("peer may be running an outdated version").
	RejectOutdated = "HELLO without cert_pem or nonce_signature"
	// RejectBadCert: cert_pem is not a PEM certificate.
	RejectBadCert = "cert_pem does not parse"
	// RejectCNMismatch: check 1, the certificate's CN is not the node_id.
	RejectCNMismatch = "cert CN does not match node_id"
	// RejectKeyMismatch: check 2, the certificate's key does not hash to
	// the node_id.
	RejectKeyMismatch = "cert public key does not hash to node_id"
	// RejectNotRSA: check 3 with a key that is not RSA.
	RejectNotRSA = "cert key is not RSA"
	// RejectBadSignature: check 3, nonce_signature is not base64 or the
	// RSA-PSS signature does not verify (with StrictSalt, also any salt
	// length other than the maximum).
	RejectBadSignature = "signature does not verify"
)

// ErrClosed is returned by the waiting methods once the peer is closed.
var ErrClosed = errors.New("dpcv1ref: peer closed")

// Frame is one frame received after a handshake. Its maps and bytes are
// shared with the peer's record: treat them as read-only.
type Frame struct {
	// From is the node_id of the peer on the connection it came in on.
	From string
	// Command is the frame's "command", or "" when it has none (or the
	// frame is not a JSON object).
	Command string
	// Payload is the frame's "payload" object; nil when absent or not an
	// object.
	Payload map[string]any
	// Object is the whole frame when it is a JSON object (HELLO_ACK, for
	// one, keeps its fields at the top level); nil otherwise.
	Object map[string]any
	// Raw is the JSON body exactly as received.
	Raw []byte
	// ContextErr, for a CONTEXT_RESPONSE, is why D-PC v0.27 could not
	// build its PersonalContext from the context (see [ParseContext]), in
	// which case it drops the answer; nil when it could.
	ContextErr error
}

// Options configures a [Peer]. The zero value is a quiet peer with a fresh
// identity and no display name.
type Options struct {
	// Identity is the node identity; nil means a fresh one ([NewIdentity]).
	Identity *Identity
	// Name is the display name sent in HELLO and HELLO_ACK; "" is sent as
	// null, as a Python node with no display name does.
	Name string
	// Context is what REQUEST_CONTEXT returns as "context", already filtered
	// by the caller. nil means the all-null layout D-PC returns to a peer
	// with no firewall rules (§4.6).
	Context map[string]any
	// Providers is the PROVIDERS_RESPONSE list; nil is sent as [].
	Providers []map[string]any
	// Answer is the "response" of REMOTE_INFERENCE_RESPONSE. "" makes the
	// peer answer status "error" instead, as a node that does not share
	// compute does. The request itself, prompt included, is in Received.
	Answer string
	// StrictSalt verifies HELLO signatures as cryptography 38 (Debian) does:
	// the PSS salt must be exactly the maximum, 222 bytes for RSA-2048.
	// Otherwise any salt length is accepted, as cryptography 48 does (§4.5).
	StrictSalt bool
	// Unsolicited makes the peer behave like the full client (§4.6): as the
	// dialler it sends GET_PROVIDERS right after HELLO_ACK (the Python
	// connect_directly always does; without this option the peer is quiet),
	// and on either side it then sends REQUEST_CHAT_HISTORY {conversation_id,
	// request_id} (once per remote node), a GROUP_SYNC frame and a
	// non-object JSON frame ([1, 2]).
	Unsolicited bool
	// HelloHook, when set, may rewrite the HELLO payload (node_id, name,
	// cert_pem, nonce_signature) before Dial sends it; nonce is the raw
	// challenge nonce, for tests that re-sign it. Deleting a key leaves it
	// out of the frame.
	HelloHook func(nonce []byte, hello map[string]any)
	// Log receives the peer's log lines (t.Logf fits); nil discards them.
	Log func(format string, args ...any)
}

// Peer is a reference D-PC node: a listening TLS server that can also dial.
type Peer struct {
	opts    Options
	id      *Identity
	ln      net.Listener
	tlsConf *tls.Config
	closing chan struct{}
	wg      sync.WaitGroup

	mu           sync.Mutex
	closed       bool
	changed      chan struct{} // closed and replaced on every state change
	live         map[*tls.Conn]struct{}
	conns        []*Conn
	byNode       map[string]*Conn // Python's self.peers: the newest connection per node_id
	historyAsked map[string]bool
	received     []Frame
	rejected     []string
	failures     map[string][]time.Time
}

// Listen starts a peer listening on addr (use "127.0.0.1:0" in tests). Its
// TLS server presents the identity's certificate with Go's defaults,
// requests no client certificate and sets no ALPN (§4.1).
func Listen(addr string, o Options) (*Peer, error) {
	id := o.Identity
	if id == nil {
		var err error
		if id, err = NewIdentity(); err != nil {
			return nil, err
		}
	}
	block, _ := pem.Decode(id.CertPEM)
	if block == nil {
		return nil, errors.New("dpcv1ref: identity has no certificate PEM")
	}
	lc := net.ListenConfig{KeepAliveConfig: keepAlive}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dpcv1ref: listen: %w", err)
	}
	p := &Peer{
		opts: o,
		id:   id,
		ln:   ln,
		tlsConf: &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{block.Bytes}, PrivateKey: id.Key}},
		},
		closing:      make(chan struct{}),
		changed:      make(chan struct{}),
		live:         make(map[*tls.Conn]struct{}),
		byNode:       make(map[string]*Conn),
		historyAsked: make(map[string]bool),
		failures:     make(map[string][]time.Time),
	}
	p.wg.Add(1)
	go p.acceptLoop()
	p.logf("listening on %s as %s", p.Addr(), id.NodeID)
	return p, nil
}

// keepAlive is the TCP keepalive both Python sides set: idle 60 s, interval
// 10 s, 5 probes (§4.1).
var keepAlive = net.KeepAliveConfig{Enable: true, Idle: 60 * time.Second, Interval: 10 * time.Second, Count: 5}

// Addr is the listening address, host:port.
func (p *Peer) Addr() string { return p.ln.Addr().String() }

// NodeID is the peer's node_id.
func (p *Peer) NodeID() string { return p.id.NodeID }

// Identity is the peer's identity.
func (p *Peer) Identity() *Identity { return p.id }

// URI is the peer's dpc:// URI, dpc://HOST:PORT?node_id=… (§4.6).
func (p *Peer) URI() string { return "dpc://" + p.Addr() + "?node_id=" + p.id.NodeID }

// Close stops the listener, closes every connection and waits for all of
// the peer's goroutines. It is safe to call more than once.
func (p *Peer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	close(p.closing)
	live := make([]*tls.Conn, 0, len(p.live))
	for tc := range p.live {
		live = append(live, tc)
	}
	p.broadcastLocked()
	p.mu.Unlock()

	err := p.ln.Close()
	for _, tc := range live {
		_ = tc.NetConn().Close()
	}
	p.wg.Wait()
	return err
}

// Conns returns the established connections that are still open, oldest
// first, whichever side dialled.
func (p *Peer) Conns() []*Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*Conn
	for _, c := range p.conns {
		if !c.isDone() {
			out = append(out, c)
		}
	}
	return out
}

// WaitConn returns the oldest open established connection, waiting for one
// until ctx ends or the peer closes.
func (p *Peer) WaitConn(ctx context.Context) (*Conn, error) {
	for {
		p.mu.Lock()
		for _, c := range p.conns {
			if !c.isDone() {
				p.mu.Unlock()
				return c, nil
			}
		}
		ch, closed := p.changed, p.closed
		p.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("dpcv1ref: waiting for a connection: %w", ctx.Err())
		}
	}
}

// Received returns every frame received after a handshake, on any
// connection, in the order the connections' readers read them (handling
// happens afterwards and concurrently).
func (p *Peer) Received() []Frame {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Frame(nil), p.received...)
}

// WaitFor returns the first received frame with the given command, waiting
// for it until ctx ends or the peer closes.
func (p *Peer) WaitFor(ctx context.Context, command string) (Frame, error) {
	return p.WaitMatch(ctx, func(f Frame) bool { return f.Command == command })
}

// WaitMatch returns the first received frame for which match is true,
// waiting for it until ctx ends or the peer closes. Match responses by
// command and request_id: replies come back in any order (§4.6).
func (p *Peer) WaitMatch(ctx context.Context, match func(Frame) bool) (Frame, error) {
	next := 0
	for {
		p.mu.Lock()
		frames := p.received[next:]
		ch, closed := p.changed, p.closed
		next = len(p.received)
		p.mu.Unlock()
		for _, f := range frames {
			if match(f) {
				return f, nil
			}
		}
		if closed {
			return Frame{}, ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Frame{}, fmt.Errorf("dpcv1ref: waiting for a frame: %w", ctx.Err())
		}
	}
}

// Rejected returns the reasons (the Reject… constants) for every handshake
// this peer refused as the server, in order.
func (p *Peer) Rejected() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.rejected...)
}

// WaitRejected waits until at least n handshakes have been refused and
// returns all the reasons so far.
func (p *Peer) WaitRejected(ctx context.Context, n int) ([]string, error) {
	for {
		p.mu.Lock()
		got := append([]string(nil), p.rejected...)
		ch, closed := p.changed, p.closed
		p.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		if closed {
			return got, ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return got, fmt.Errorf("dpcv1ref: waiting for %d rejections, have %d: %w", n, len(got), ctx.Err())
		}
	}
}

func (p *Peer) logf(format string, args ...any) {
	if p.opts.Log != nil {
		p.opts.Log("dpcv1ref[%s]: "+format, append([]any{short(p.id.NodeID)}, args...)...)
	}
}

func short(nodeID string) string {
	if len(nodeID) > 17 {
		return nodeID[:17]
	}
	return nodeID
}

// broadcastLocked wakes every waiter. p.mu must be held.
func (p *Peer) broadcastLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// goTracked runs f in a goroutine Close waits for, unless the peer is closed.
func (p *Peer) goTracked(f func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
	return true
}

// track registers a connection Close must cut; false if already closed.
func (p *Peer) track(tc *tls.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.live[tc] = struct{}{}
	return true
}

func (p *Peer) untrack(tc *tls.Conn) {
	p.mu.Lock()
	delete(p.live, tc)
	p.mu.Unlock()
}

func (p *Peer) record(f Frame) {
	p.mu.Lock()
	p.received = append(p.received, f)
	p.broadcastLocked()
	p.mu.Unlock()
}

// established registers a connection after HELLO_ACK, overwriting any older
// connection to the same node_id as Python's self.peers[node_id] = peer does
// (§5.2). It reports false if the peer has closed meanwhile.
func (p *Peer) established(c *Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns = append(p.conns, c)
	p.byNode[c.nodeID] = c
	p.broadcastLocked()
	return true
}

// connEnded runs when a connection's reader stops. Like _listen_to_peer's
// finally block it shuts down whatever connection self.peers holds for that
// node_id, which is the newer one when there were two (§5.2).
func (p *Peer) connEnded(c *Conn) {
	p.mu.Lock()
	cur, ok := p.byNode[c.nodeID]
	if ok {
		delete(p.byNode, c.nodeID)
	}
	p.broadcastLocked()
	p.mu.Unlock()
	if ok {
		p.logf("connection with peer %s was lost", c.nodeID)
		if cur != c {
			p.logf("closing the newer connection to %s as well (duplicate-connection hazard, §5.2)", c.nodeID)
			cur.shutdown()
		}
	}
}

// current returns the connection replies to nodeID go out on: the newest,
// as send_message_to_peer looks it up in self.peers.
func (p *Peer) current(nodeID string) *Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byNode[nodeID]
}

// rateLimited is _is_rate_limited: prune failures older than the window,
// then compare with the limit.
func (p *Peer) rateLimited(ip string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	kept := p.failures[ip][:0]
	for _, t := range p.failures[ip] {
		if now.Sub(t) < RateLimitWindow {
			kept = append(kept, t)
		}
	}
	p.failures[ip] = kept
	return len(kept) >= RateLimitFailures
}

// reject records a refused handshake; failed ones count for the rate limit.
func (p *Peer) reject(ip, reason string, failed bool) {
	p.mu.Lock()
	if failed {
		p.failures[ip] = append(p.failures[ip], time.Now())
	}
	p.rejected = append(p.rejected, reason)
	p.broadcastLocked()
	p.mu.Unlock()
}
