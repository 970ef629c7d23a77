package turnserver

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dpc-go/dpc/hub/internal/turnserver/turntest"
)

const (
	alice = "dpc-node-0123456789abcdef0123456789abcdef"
	bob   = "dpc-node-fedcba9876543210fedcba9876543210"
)

var testSecret = bytes.Repeat([]byte{9}, 32)

// startTest runs a TURN server on 127.0.0.1 with mutate applied to its config.
func startTest(t *testing.T, mutate func(*Config)) (*Server, string) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Conn: conn, PublicIP: net.IPv4(127, 0, 0, 1), Realm: "hub.test", Secret: testSecret}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := Start(cfg)
	if err != nil {
		_ = conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, conn.LocalAddr().String()
}

// waitFor re-checks cond until it holds; a passing test waits for an event
// that is already under way, never for the deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(turntest.WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: gave up", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHubCredentialRelaysToPeer(t *testing.T) {
	s, addr := startTest(t, nil)
	c := s.Credentials(alice)
	if !strings.HasSuffix(c.Username, ":"+alice) || c.URL != "turn:"+addr+"?transport=udp" {
		t.Fatalf("credential %+v: want username <expiry>:%s and URL turn:%s?transport=udp", c, alice, addr)
	}
	relay, err := turntest.Allocate(t, addr, c.Username, c.Password)
	if err != nil {
		t.Fatalf("allocation with a hub credential: %v", err)
	}
	if got := testutil.ToFloat64(s.m.allocations); got != 1 {
		t.Errorf("dpc_hub_turn_allocations = %v, want 1", got)
	}
	peer := turntest.EchoPeer(t)
	if err := turntest.RoundTrip(relay, peer, []byte("hello through the hub")); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(s.m.relayed); got != 2*float64(len("hello through the hub")) {
		t.Errorf("dpc_hub_turn_relayed_bytes_total = %v, want both directions, %d", got, 2*len("hello through the hub"))
	}
}

// TestForgedOrStaleCredentialsAreRefused: a credential the hub did not
// issue, or no longer honours, gets no relay, and each refusal is counted.
func TestForgedOrStaleCredentialsAreRefused(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().Unix())
	s, addr := startTest(t, func(c *Config) { c.Now = func() time.Time { return time.Unix(now.Load(), 0) } })
	cases := map[string]func() (user, pass string){
		"expired username": func() (string, string) {
			u := Username(time.Unix(now.Load()-1, 0), alice)
			return u, Password(testSecret, u)
		},
		"password made with another secret": func() (string, string) {
			u := Username(time.Unix(now.Load()+600, 0), alice)
			return u, Password(bytes.Repeat([]byte{1}, 32), u)
		},
		"node_id swapped in a real credential": func() (string, string) {
			c := s.Credentials(alice)
			return strings.Replace(c.Username, alice, bob, 1), c.Password
		},
		"expiry pushed out in a real credential": func() (string, string) {
			c := s.Credentials(alice)
			exp, _, _ := ParseUsername(c.Username)
			return Username(exp.Add(24*time.Hour), alice), c.Password
		},
		"username without a node_id": func() (string, string) {
			u := "4102444800"
			return u, Password(testSecret, u)
		},
		"credential issued before the node logged out": func() (string, string) {
			c := s.Credentials(bob)
			s.Revoke(bob)
			return c.Username, c.Password
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			user, pass := mk()
			before := testutil.ToFloat64(s.m.authFailures)
			if _, err := turntest.Allocate(t, addr, user, pass); err == nil {
				t.Fatal("allocation succeeded")
			}
			if got := testutil.ToFloat64(s.m.authFailures) - before; got < 1 {
				t.Errorf("dpc_hub_turn_auth_failures_total rose by %v, want at least 1", got)
			}
		})
	}
	// After the logout a fresh credential works, even in the same second.
	c := s.Credentials(bob)
	if _, err := turntest.Allocate(t, addr, c.Username, c.Password); err != nil {
		t.Fatalf("a credential issued after the logout: %v", err)
	}
}

func TestCheckUsername(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s, _ := startTest(t, func(c *Config) { c.Now = func() time.Time { return now } })
	cases := map[string]struct {
		user, realm string
		want        error
	}{
		"valid":                 {Username(now.Add(time.Minute), alice), "hub.test", nil},
		"expires this second":   {Username(now, alice), "hub.test", ErrExpired},
		"another realm":         {Username(now.Add(time.Minute), alice), "evil.test", ErrWrongRealm},
		"not a node_id":         {"1900000000:dpc-node-XYZ", "hub.test", ErrBadUsername},
		"signed expiry":         {"+1900000000:" + alice, "hub.test", ErrBadUsername},
		"negative expiry":       {"-1:" + alice, "hub.test", ErrBadUsername},
		"leading zeros":         {"01900000000:" + alice, "hub.test", ErrBadUsername},
		"two colons":            {"1900000000:" + alice + ":x", "hub.test", ErrBadUsername},
		"overlong":              {strings.Repeat("1", 200) + ":" + alice, "hub.test", ErrBadUsername},
		"empty":                 {"", "hub.test", ErrBadUsername},
		"expiry not a number":   {"soon:" + alice, "hub.test", ErrBadUsername},
		"node_id in upper case": {"1900000000:" + strings.ToUpper(alice), "hub.test", ErrBadUsername},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			id, err := s.check(tc.user, tc.realm)
			if !errors.Is(err, tc.want) {
				t.Fatalf("check(%q): want %v, got %v", tc.user, tc.want, err)
			}
			if err == nil && id != alice {
				t.Fatalf("node_id %q, want %s", id, alice)
			}
		})
	}
}

// TestQuotaExceededStopsRelaying: a node that passes its quota has its
// relay closed, no byte beyond the quota relayed, and no new allocation.
func TestQuotaExceededStopsRelaying(t *testing.T) {
	const quota, size = 1000, 100
	s, addr := startTest(t, func(c *Config) { c.Quota = quota })
	c := s.Credentials(alice)
	relay, err := turntest.Allocate(t, addr, c.Username, c.Password)
	if err != nil {
		t.Fatal(err)
	}
	peer := turntest.EchoPeer(t)
	p := bytes.Repeat([]byte{'x'}, size)
	// Five round trips are exactly the quota: 5 × 2 × 100 bytes.
	for i := range quota / (2 * size) {
		if err := turntest.RoundTrip(relay, peer, p); err != nil {
			t.Fatalf("round trip %d within the quota: %v", i, err)
		}
	}
	if _, err := relay.WriteTo(p, peer); err != nil {
		t.Fatalf("send: %v", err)
	}
	waitFor(t, "the relay to close", func() bool { return testutil.ToFloat64(s.m.allocations) == 0 })
	if got := testutil.ToFloat64(s.m.quotaExceeded); got != 1 {
		t.Errorf("dpc_hub_turn_quota_exceeded_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(s.m.relayed); got != quota {
		t.Errorf("dpc_hub_turn_relayed_bytes_total = %v, want the quota, %d", got, quota)
	}
	c = s.Credentials(alice)
	if _, err := turntest.Allocate(t, addr, c.Username, c.Password); err == nil {
		t.Fatal("a node over its quota got a new allocation")
	}
	// Another node is not affected.
	c = s.Credentials(bob)
	if _, err := turntest.Allocate(t, addr, c.Username, c.Password); err != nil {
		t.Fatalf("another node's allocation: %v", err)
	}
}

func TestQuotaResetsNextUTCDay(t *testing.T) {
	var now atomic.Int64
	now.Store(1_800_000_000)
	s, _ := startTest(t, func(c *Config) {
		c.Quota = 10
		c.Now = func() time.Time { return time.Unix(now.Load(), 0) }
	})
	u := s.usageOf(alice)
	c := &countingConn{s: s, node: alice, u: u}
	if !s.account(c, 10) || s.account(c, 1) || !s.overQuota(alice) {
		t.Fatal("want 10 bytes within a quota of 10 and the 11th over it")
	}
	now.Add(86400)
	if s.overQuota(alice) || !s.account(c, 10) {
		t.Fatal("the quota did not start over the next day")
	}
}

func TestLogoutClosesRelays(t *testing.T) {
	s, addr := startTest(t, nil)
	c := s.Credentials(alice)
	if _, err := turntest.Allocate(t, addr, c.Username, c.Password); err != nil {
		t.Fatal(err)
	}
	s.Revoke(alice)
	if got := testutil.ToFloat64(s.m.allocations); got != 0 {
		t.Fatalf("dpc_hub_turn_allocations = %v after the logout, want 0", got)
	}
}

func TestCloseClosesRelays(t *testing.T) {
	s, addr := startTest(t, nil)
	c := s.Credentials(alice)
	if _, err := turntest.Allocate(t, addr, c.Username, c.Password); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(s.m.allocations); got != 0 {
		t.Fatalf("dpc_hub_turn_allocations = %v after Close, want 0", got)
	}
}

// TestRelayRefusesPeersInsideTheHubNetwork: a hub on a public address must
// not relay into its own loopback, LAN or the cloud metadata service.
func TestRelayRefusesPeersInsideTheHubNetwork(t *testing.T) {
	cases := map[string]struct {
		public, peer string
		want         bool
	}{
		"public hub, public peer":       {"203.0.113.5", "198.51.100.7", true},
		"public hub, loopback peer":     {"203.0.113.5", "127.0.0.1", false},
		"public hub, LAN peer":          {"203.0.113.5", "10.0.0.8", false},
		"public hub, metadata service":  {"203.0.113.5", "169.254.169.254", false},
		"public hub, multicast":         {"203.0.113.5", "224.0.0.1", false},
		"public hub, unspecified":       {"203.0.113.5", "0.0.0.0", false},
		"public hub, IPv6 loopback":     {"203.0.113.5", "::1", false},
		"public hub, IPv6 ULA":          {"203.0.113.5", "fd00::1", false},
		"LAN hub, LAN peer":             {"192.168.1.2", "192.168.1.9", true},
		"LAN hub, loopback peer":        {"192.168.1.2", "127.0.0.1", false},
		"loopback hub, loopback peer":   {"127.0.0.1", "127.0.0.1", true},
		"loopback hub, LAN peer":        {"127.0.0.1", "10.1.2.3", true},
		"loopback hub, metadata":        {"127.0.0.1", "169.254.169.254", false},
		"LAN hub, public peer":          {"10.0.0.1", "198.51.100.7", true},
		"public v6 hub, public v6 peer": {"2001:db8::1", "2001:db8::2", true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := peerFilter(net.ParseIP(tc.public))(net.ParseIP(tc.peer)); got != tc.want {
				t.Fatalf("peer %s via hub %s: got %v, want %v", tc.peer, tc.public, got, tc.want)
			}
		})
	}
}

func TestStartRefusesBadConfig(t *testing.T) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ok := Config{Conn: conn, PublicIP: net.IPv4(127, 0, 0, 1), Realm: "r", Secret: testSecret}
	cases := map[string]func(*Config){
		"no public IP":             func(c *Config) { c.PublicIP = nil },
		"wildcard public IP":       func(c *Config) { c.PublicIP = net.IPv4zero },
		"no realm":                 func(c *Config) { c.Realm = "" },
		"short secret":             func(c *Config) { c.Secret = testSecret[:8] },
		"ttl too short":            func(c *Config) { c.TTL = time.Second },
		"ttl too long":             func(c *Config) { c.TTL = 48 * time.Hour },
		"negative quota":           func(c *Config) { c.Quota = -1 },
		"negative max allocations": func(c *Config) { c.MaxAllocations = -1 },
		"half a port range":        func(c *Config) { c.RelayMinPort = 50000 },
		"inverted ports":           func(c *Config) { c.RelayMinPort, c.RelayMaxPort = 60000, 50000 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := ok
			mutate(&c)
			if _, err := Start(c); !errors.Is(err, ErrConfig) {
				t.Fatalf("want ErrConfig, got %v", err)
			}
		})
	}
}

var _ turn.RelayAddressGenerator = (*relayGenerator)(nil)

// TestAllocationsPerNodeBounded: one node cannot hold more relay sockets
// than its maximum; another node still can.
func TestAllocationsPerNodeBounded(t *testing.T) {
	s, addr := startTest(t, func(c *Config) { c.MaxAllocations = 2 })
	for i := range 2 {
		c := s.Credentials(alice)
		if _, err := turntest.Allocate(t, addr, c.Username, c.Password); err != nil {
			t.Fatalf("allocation %d within the maximum: %v", i, err)
		}
	}
	c := s.Credentials(alice)
	if _, err := turntest.Allocate(t, addr, c.Username, c.Password); err == nil {
		t.Fatal("a third allocation of the same node succeeded")
	}
	c = s.Credentials(bob)
	if _, err := turntest.Allocate(t, addr, c.Username, c.Password); err != nil {
		t.Fatalf("another node's allocation: %v", err)
	}
}
