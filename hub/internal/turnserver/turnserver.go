package turnserver

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST convention is HMAC-SHA1; it is a MAC, not a signature
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// Errors of the TURN server: why a credential, a configuration or a relay
// was refused.
var (
	// ErrConfig: the server's configuration does not hold.
	ErrConfig = errors.New("invalid TURN configuration")
	// ErrBadUsername: the username is not "<expiry unix>:<node_id>".
	ErrBadUsername = errors.New("TURN username is not <expiry unix>:<node_id>")
	// ErrWrongRealm: the client authenticated for another realm.
	ErrWrongRealm = errors.New("TURN realm is not this hub's")
	// ErrExpired: the credential's expiry has passed.
	ErrExpired = errors.New("TURN credential expired")
	// ErrRevoked: the credential was issued before its node logged out.
	ErrRevoked = errors.New("TURN credential was issued before its node logged out")
	// ErrQuotaExceeded: the node relayed its quota of bytes for today.
	ErrQuotaExceeded = errors.New("TURN relay quota exceeded")
	// ErrTooManyAllocations: the node holds its maximum of relays.
	ErrTooManyAllocations = errors.New("too many TURN allocations for one node")
	// ErrNoTCPRelay: the server relays UDP only.
	ErrNoTCPRelay = errors.New("this TURN server relays UDP only")
)

// Defaults of dpc-hub's flags.
const (
	// DefaultTTL is how long a credential is valid. A relay can be
	// refreshed only while its credential is, so it bounds a relayed
	// connection that does not fetch new credentials.
	DefaultTTL = time.Hour
	// DefaultQuota is the bytes one node may relay per UTC day.
	DefaultQuota = 1 << 30
	// DefaultMaxAllocations is the relays one node may hold at once: each
	// is a socket of the hub's.
	DefaultMaxAllocations = 32
	// MinTTL and MaxTTL bound the credential lifetime.
	MinTTL = time.Minute
	MaxTTL = 24 * time.Hour
)

// maxUsernameLen bounds a username: 20 digits, ':' and a node_id, with room.
const maxUsernameLen = 128

// Config configures a Server.
type Config struct {
	// Conn is the bound UDP socket clients send to; Close closes it. Relay
	// sockets bind to its IP.
	Conn net.PacketConn
	// PublicIP is the address relays are advertised at, and the host of
	// the server's URL.
	PublicIP net.IP
	// Realm is the long-term credential realm.
	Realm string
	// Secret is the HMAC key of the credentials (at least 32 bytes).
	Secret []byte
	// TTL is the credential lifetime (whole seconds, MinTTL to MaxTTL;
	// 0 means DefaultTTL).
	TTL time.Duration
	// Quota is the bytes a node may relay per UTC day, both directions;
	// 0 is unlimited.
	Quota int64
	// MaxAllocations is the relays one node may hold at once (0 means
	// DefaultMaxAllocations).
	MaxAllocations int
	// RelayMinPort and RelayMaxPort bound the relay sockets' ports; 0 and 0
	// lets the system choose.
	RelayMinPort, RelayMaxPort uint16
	Logger                     hclog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Credential is what a node authenticates to the TURN server with.
type Credential struct {
	URL      string
	Username string
	Password string
	Expires  time.Time
}

// Server is the embedded TURN server.
type Server struct {
	cfg    Config
	ttl    int64 // seconds
	url    string
	log    hclog.Logger
	turn   *turn.Server
	m      metrics
	permit func(net.IP) bool

	mu      sync.Mutex
	usage   map[string]*usage
	revoked map[string]int64 // node_id → unix second of its logout
	sweptAt int64            // the UTC day usage was last swept
}

// usage is one node's relayed bytes today and its open relay sockets.
type usage struct {
	mu       sync.Mutex
	day      int64
	bytes    int64
	exceeded bool
	conns    map[*countingConn]struct{}
}

// Start runs a TURN server on cfg.Conn until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxAllocations == 0 {
		cfg.MaxAllocations = DefaultMaxAllocations
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	local, _ := cfg.Conn.LocalAddr().(*net.UDPAddr)
	switch {
	case cfg.Conn == nil || local == nil:
		return nil, fmt.Errorf("%w: no bound UDP socket", ErrConfig)
	case cfg.PublicIP == nil || cfg.PublicIP.IsUnspecified() || cfg.PublicIP.IsMulticast():
		return nil, fmt.Errorf("%w: public IP %v is not an address peers can reach", ErrConfig, cfg.PublicIP)
	case cfg.Realm == "":
		return nil, fmt.Errorf("%w: empty realm", ErrConfig)
	case len(cfg.Secret) < 32:
		return nil, fmt.Errorf("%w: secret of %d bytes, want at least 32", ErrConfig, len(cfg.Secret))
	case cfg.TTL < MinTTL || cfg.TTL > MaxTTL || cfg.TTL%time.Second != 0:
		return nil, fmt.Errorf("%w: credential lifetime %s, want whole seconds from %s to %s", ErrConfig, cfg.TTL, MinTTL, MaxTTL)
	case cfg.MaxAllocations < 0:
		return nil, fmt.Errorf("%w: %d allocations per node, want 1 or more", ErrConfig, cfg.MaxAllocations)
	case cfg.Quota < 0:
		return nil, fmt.Errorf("%w: quota %d, want 0 (unlimited) or more", ErrConfig, cfg.Quota)
	case (cfg.RelayMinPort == 0) != (cfg.RelayMaxPort == 0) || cfg.RelayMinPort > cfg.RelayMaxPort:
		return nil, fmt.Errorf("%w: relay ports %d-%d, want LOW-HIGH with 1 <= LOW <= HIGH", ErrConfig, cfg.RelayMinPort, cfg.RelayMaxPort)
	}
	s := &Server{
		cfg:     cfg,
		ttl:     int64(cfg.TTL / time.Second),
		url:     "turn:" + net.JoinHostPort(cfg.PublicIP.String(), strconv.Itoa(local.Port)) + "?transport=udp",
		log:     cfg.Logger,
		m:       newMetrics(),
		permit:  peerFilter(cfg.PublicIP),
		usage:   make(map[string]*usage),
		revoked: make(map[string]int64),
	}
	var inner turn.RelayAddressGenerator
	if cfg.RelayMinPort != 0 {
		inner = &turn.RelayAddressGeneratorPortRange{RelayAddress: cfg.PublicIP, Address: local.IP.String(),
			MinPort: cfg.RelayMinPort, MaxPort: cfg.RelayMaxPort}
	} else {
		inner = &turn.RelayAddressGeneratorStatic{RelayAddress: cfg.PublicIP, Address: local.IP.String()}
	}
	ts, err := turn.NewServer(turn.ServerConfig{
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            cfg.Conn,
			RelayAddressGenerator: &relayGenerator{inner: inner, s: s},
			PermissionHandler:     func(_ net.Addr, peer net.IP) bool { return s.permit(peer) },
		}},
		LoggerFactory: loggerFactory{cfg.Logger},
		Realm:         cfg.Realm,
		AuthHandler:   s.authenticate,
		QuotaHandler:  func(userID, _ string, _ net.Addr) bool { return s.mayAllocate(userID) == nil },
		EventHandler:  turn.EventHandler{OnAuth: s.onAuth},
	})
	if err != nil {
		return nil, fmt.Errorf("start the TURN server: %w", err)
	}
	s.turn = ts
	return s, nil
}

// Close stops the server and closes every relay socket before it returns.
func (s *Server) Close() error {
	err := s.turn.Close()
	s.mu.Lock()
	var conns []*countingConn
	for _, u := range s.usage {
		conns = append(conns, u.openConns()...)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	if err != nil {
		return fmt.Errorf("close the TURN server: %w", err)
	}
	return nil
}

// URL is the server's turn: URL, with the public IP.
func (s *Server) URL() string { return s.url }

// Collectors are the server's Prometheus series, for the hub's registry.
func (s *Server) Collectors() []prometheus.Collector { return s.m.collectors() }

// Credentials issues a credential for nodeID, valid for the TTL.
func (s *Server) Credentials(nodeID string) Credential {
	exp := s.cfg.Now().Unix() + s.ttl
	s.mu.Lock()
	// A credential counts as issued at expiry-TTL; one issued in the very
	// second of a logout would be refused as issued before it.
	if r, ok := s.revoked[nodeID]; ok && exp-s.ttl <= r {
		exp = r + s.ttl + 1
	}
	s.mu.Unlock()
	u := Username(time.Unix(exp, 0), nodeID)
	return Credential{URL: s.url, Username: u, Password: Password(s.cfg.Secret, u), Expires: time.Unix(exp, 0).UTC()}
}

// Username is a TURN REST username: "<expiry unix>:<node_id>".
func Username(expires time.Time, nodeID string) string {
	return strconv.FormatInt(expires.Unix(), 10) + ":" + nodeID
}

// Password is base64(HMAC-SHA1(secret, username)).
func Password(secret []byte, username string) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ParseUsername splits a username into its expiry and node_id.
func ParseUsername(username string) (time.Time, string, error) {
	if len(username) > maxUsernameLen {
		return time.Time{}, "", fmt.Errorf("%w: %d bytes", ErrBadUsername, len(username))
	}
	ts, nodeID, ok := strings.Cut(username, ":")
	if !ok || !dpcuri.ValidNodeID(nodeID) {
		return time.Time{}, "", ErrBadUsername
	}
	exp, err := strconv.ParseInt(ts, 10, 64)
	// Only the canonical form the hub issues: no sign, no leading zeros.
	if err != nil || exp <= 0 || strconv.FormatInt(exp, 10) != ts {
		return time.Time{}, "", fmt.Errorf("%w: expiry %q", ErrBadUsername, ts)
	}
	return time.Unix(exp, 0), nodeID, nil
}

// check says whether a username may authenticate now, and whose it is.
// The password is not checked here: the TURN server checks the message's
// integrity with the key made from the password the username implies.
func (s *Server) check(username, realm string) (string, error) {
	if realm != s.cfg.Realm {
		return "", ErrWrongRealm
	}
	exp, nodeID, err := ParseUsername(username)
	if err != nil {
		return "", err
	}
	if !s.cfg.Now().Before(exp) {
		return "", fmt.Errorf("%w at %s", ErrExpired, exp.UTC().Format(time.RFC3339))
	}
	s.mu.Lock()
	r, ok := s.revoked[nodeID]
	s.mu.Unlock()
	if ok && exp.Unix()-s.ttl <= r {
		return "", ErrRevoked
	}
	return nodeID, nil
}

// authenticate is the TURN AuthHandler: the key is made from the password
// the hub would have issued for the username.
func (s *Server) authenticate(ra *turn.RequestAttributes) (string, []byte, bool) {
	nodeID, err := s.check(ra.Username, ra.Realm)
	if err != nil {
		s.m.authFailures.Inc()
		s.log.Debug("TURN credential refused", "from", ra.SrcAddr, "username", clip(ra.Username), "error", err)
		return "", nil, false
	}
	return nodeID, turn.GenerateAuthKey(ra.Username, ra.Realm, Password(s.cfg.Secret, ra.Username)), true
}

// onAuth counts the requests whose integrity check failed: a wrong or
// altered password (authenticate has counted its own refusals).
func (s *Server) onAuth(src, _ net.Addr, _, username, _, method string, verdict bool) {
	if !verdict {
		s.m.authFailures.Inc()
		s.log.Debug("TURN message integrity failed", "from", src, "username", clip(username), "method", method)
	}
}

// Revoke refuses the credentials nodeID holds (it logged out) and closes
// its relays. Credentials issued later are valid.
func (s *Server) Revoke(nodeID string) {
	now := s.cfg.Now().Unix()
	s.mu.Lock()
	// A revocation older than the TTL covers no credential that is valid.
	for id, r := range s.revoked {
		if r+s.ttl < now {
			delete(s.revoked, id)
		}
	}
	s.revoked[nodeID] = now
	var conns []*countingConn
	if u := s.usage[nodeID]; u != nil {
		conns = u.openConns()
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	if len(conns) > 0 {
		s.log.Info("closed the relays of a node that logged out", "node_id", nodeID, "relays", len(conns))
	}
}

// day is the UTC day of t, the quota's period.
func day(t time.Time) int64 { return t.Unix() / 86400 }

// usageOf returns nodeID's usage, created if needed; entries of nodes with
// no relay are forgotten once a day.
func (s *Server) usageOf(nodeID string) *usage {
	today := day(s.cfg.Now())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sweptAt != today {
		s.sweptAt = today
		for id, u := range s.usage {
			u.mu.Lock()
			idle := len(u.conns) == 0 && u.day != today
			u.mu.Unlock()
			if idle {
				delete(s.usage, id)
			}
		}
	}
	u := s.usage[nodeID]
	if u == nil {
		u = &usage{day: today, conns: make(map[*countingConn]struct{})}
		s.usage[nodeID] = u
	}
	return u
}

// roll starts a new quota period when the day changed; u.mu is held.
func (u *usage) roll(today int64) {
	if u.day != today {
		u.day, u.bytes, u.exceeded = today, 0, false
	}
}

func (u *usage) openConns() []*countingConn {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]*countingConn, 0, len(u.conns))
	for c := range u.conns {
		out = append(out, c)
	}
	return out
}

// mayAllocate says why nodeID may not have another relay, or nil.
func (s *Server) mayAllocate(nodeID string) error {
	if s.overQuota(nodeID) {
		return fmt.Errorf("%w: node %s", ErrQuotaExceeded, nodeID)
	}
	s.mu.Lock()
	u := s.usage[nodeID]
	s.mu.Unlock()
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.conns) >= s.cfg.MaxAllocations {
		return fmt.Errorf("%w: node %s holds %d", ErrTooManyAllocations, nodeID, len(u.conns))
	}
	return nil
}

// overQuota says whether nodeID relayed its quota today.
func (s *Server) overQuota(nodeID string) bool {
	if s.cfg.Quota == 0 {
		return false
	}
	s.mu.Lock()
	u := s.usage[nodeID]
	s.mu.Unlock()
	if u == nil {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.roll(day(s.cfg.Now()))
	return u.exceeded
}

// account adds n relayed bytes to c's node; false means the packet would
// pass the quota: it is dropped and every relay of the node closed.
func (s *Server) account(c *countingConn, n int) bool {
	u := c.u
	u.mu.Lock()
	u.roll(day(s.cfg.Now()))
	if u.exceeded {
		u.mu.Unlock()
		return false
	}
	if s.cfg.Quota > 0 && u.bytes+int64(n) > s.cfg.Quota {
		u.exceeded = true
		u.mu.Unlock()
		s.m.quotaExceeded.Inc()
		s.log.Warn("node exceeded its relay quota: its relays are closed until the next UTC day", "node_id", c.node, "quota_bytes", s.cfg.Quota)
		for _, o := range u.openConns() {
			_ = o.Close()
		}
		return false
	}
	u.bytes += int64(n)
	u.mu.Unlock()
	s.m.relayed.Add(float64(n))
	return true
}

// relayGenerator allocates relay sockets that count for the allocation's
// node; the AuthHandler made the allocation's user id its node_id.
type relayGenerator struct {
	inner turn.RelayAddressGenerator
	s     *Server
}

func (g *relayGenerator) Validate() error { return g.inner.Validate() }

func (g *relayGenerator) AllocatePacketConn(cfg turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	if err := g.s.mayAllocate(cfg.UserID); err != nil {
		return nil, nil, err
	}
	conn, addr, err := g.inner.AllocatePacketConn(cfg)
	if err != nil {
		return nil, nil, err
	}
	u := g.s.usageOf(cfg.UserID)
	c := &countingConn{PacketConn: conn, s: g.s, node: cfg.UserID, u: u}
	u.mu.Lock()
	// Allocations are made one at a time (one read loop), but hold the
	// bound here too.
	if len(u.conns) >= g.s.cfg.MaxAllocations {
		u.mu.Unlock()
		_ = conn.Close()
		return nil, nil, fmt.Errorf("%w: node %s", ErrTooManyAllocations, cfg.UserID)
	}
	u.conns[c] = struct{}{}
	u.mu.Unlock()
	g.s.m.allocations.Inc()
	return c, addr, nil
}

func (g *relayGenerator) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, ErrNoTCPRelay
}

func (g *relayGenerator) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, ErrNoTCPRelay
}

// countingConn is a relay socket: what it sends to and receives from peers
// counts against its node's quota.
type countingConn struct {
	net.PacketConn
	s    *Server
	node string
	u    *usage
	once sync.Once
}

// ReadFrom reads a peer's packet for the client; one over the quota is
// dropped and ends the relay (the allocation is deleted).
func (c *countingConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	if err != nil {
		return n, addr, err
	}
	if !c.s.account(c, n) {
		return 0, nil, fmt.Errorf("%w: node %s", ErrQuotaExceeded, c.node)
	}
	return n, addr, nil
}

// WriteTo sends the client's packet to a peer, within the quota.
func (c *countingConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !c.s.account(c, len(p)) {
		return 0, fmt.Errorf("%w: node %s", ErrQuotaExceeded, c.node)
	}
	return c.PacketConn.WriteTo(p, addr)
}

func (c *countingConn) Close() error {
	var err error
	c.once.Do(func() {
		c.u.mu.Lock()
		delete(c.u.conns, c)
		c.u.mu.Unlock()
		c.s.m.allocations.Dec()
		err = c.PacketConn.Close()
	})
	return err
}

// peerFilter says which peer addresses relays may reach. A relay must not
// become a way into the hub's own network: a hub advertising a public
// address relays to public addresses only; one advertising a private
// (LAN) or loopback address also relays within that scope. Link-local
// (cloud metadata services), multicast and unspecified addresses are never
// peers.
func peerFilter(public net.IP) func(net.IP) bool {
	allowLoop := public.IsLoopback()
	allowPrivate := allowLoop || public.IsPrivate()
	return func(peer net.IP) bool {
		switch {
		case peer == nil, peer.IsUnspecified(), peer.IsMulticast(), peer.IsLinkLocalUnicast(), peer.IsLinkLocalMulticast():
			return false
		case peer.IsLoopback():
			return allowLoop
		case peer.IsPrivate():
			return allowPrivate
		}
		return true
	}
}

// clip bounds a client's string before it reaches the log.
func clip(s string) string {
	if len(s) > maxUsernameLen {
		return s[:maxUsernameLen] + "…"
	}
	return s
}
