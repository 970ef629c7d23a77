package direct_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dpc-go/dpc/plugins/transport-direct/direct"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// The tests only ever bind and dial loopback addresses, apart from the
// wildcard listeners whose URIs they inspect (and dial on loopback only).

func TestConformance(t *testing.T) {
	t.Parallel()
	// The default config: the round trip listens on 127.0.0.1:0 and dials
	// the URI reported for that bound address.
	sdktest.Conformance(t, func() sdk.Plugin { return &direct.Plugin{} }, sdktest.Options{})
}

// testConfig is a valid config listening on loopback only.
func testConfig() *direct.Config {
	return &direct.Config{Listen: []string{"127.0.0.1:0"}, DialTimeoutMS: 5000, KeepaliveSeconds: 30}
}

// newPlugin returns a Plugin configured directly (no gRPC) with cfg, shut
// down when the test ends.
func newPlugin(t *testing.T, cfg *direct.Config) *direct.Plugin {
	t.Helper()
	p := &direct.Plugin{}
	if err := p.Configure(context.Background(), sdk.ConfigureRequest{Config: cfg}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// listen listens on addrs and closes the listener when the test ends.
func listen(t *testing.T, tr sdk.Transport, addrs ...string) sdk.Listener {
	t.Helper()
	ln, err := tr.Listen(context.Background(), sdk.ListenRequest{Addresses: addrs})
	if err != nil {
		t.Fatalf("Listen %v: %v", addrs, err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// acceptOne accepts one connection in the background.
func acceptOne(t *testing.T, ln sdk.Listener) <-chan sdk.Conn {
	t.Helper()
	ch := make(chan sdk.Conn, 1)
	go func() {
		defer close(ch)
		c, err := ln.Accept()
		if err != nil {
			t.Errorf("Accept: %v", err)
			return
		}
		ch <- c
	}()
	return ch
}

// connect dials uri through tr and returns both ends.
func connect(t *testing.T, tr sdk.Transport, ln sdk.Listener, uri string) (dialed, accepted sdk.Conn) {
	t.Helper()
	ch := acceptOne(t, ln)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dialed, err := tr.Dial(ctx, sdk.DialRequest{URI: uri + "?node_id=" + sdktest.TestNodeID, ExpectedNodeID: sdktest.TestNodeID})
	if err != nil {
		t.Fatalf("Dial %s: %v", uri, err)
	}
	t.Cleanup(func() { _ = dialed.Close() })
	accepted, ok := <-ch
	if !ok {
		t.FailNow()
	}
	t.Cleanup(func() { _ = accepted.Close() })
	return dialed, accepted
}

// portOf is the port of a host:port address.
func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	n, _ := strconv.Atoi(port)
	return n
}

// needIPv6 skips the test on machines without an IPv6 loopback.
func needIPv6(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	_ = ln.Close()
}

// freePort returns a port that was free on every IPv4 and IPv6 address a
// moment ago (a dual-stack wildcard listener held it).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "[::]:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer ln.Close()
	return portOf(t, ln.Addr().String())
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := portOf(t, ln.Addr().String())
	_ = ln.Close()
	return port
}

func TestConfig(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		config   any
		wantPath string
		wantText string
	}{
		"defaults":                   {config: json.RawMessage(`{}`)},
		"everything set":             {config: &direct.Config{Listen: []string{"127.0.0.1:0", "[::1]:9000", ":8888", "localhost:1"}, DialTimeoutMS: 1, Advertise: []string{"198.51.100.7:8888", "[2001:db8::7]:443", "peer.example.org:9000"}}},
		"keepalive off":              {config: json.RawMessage(`{"keepalive_seconds": 0}`)},
		"listen not host:port":       {config: json.RawMessage(`{"listen": ["nonsense"]}`), wantPath: "listen", wantText: "not a host:port"},
		"listen bare IPv6":           {config: json.RawMessage(`{"listen": ["::1:8888"]}`), wantPath: "listen", wantText: "not a host:port"},
		"listen port too large":      {config: json.RawMessage(`{"listen": ["0.0.0.0:65536"]}`), wantPath: "listen", wantText: "invalid port"},
		"listen port by name":        {config: json.RawMessage(`{"listen": ["0.0.0.0:http"]}`), wantPath: "listen", wantText: "invalid port"},
		"listen bad host":            {config: json.RawMessage(`{"listen": ["exa mple:1"]}`), wantPath: "listen", wantText: "invalid host"},
		"listen second entry":        {config: json.RawMessage(`{"listen": ["127.0.0.1:1", "x"]}`), wantPath: "listen", wantText: "entry 1"},
		"listen duplicate":           {config: json.RawMessage(`{"listen": ["127.0.0.1:1", "127.0.0.1:1"]}`), wantPath: "listen", wantText: "listed twice"},
		"listen empty":               {config: json.RawMessage(`{"listen": []}`), wantPath: "listen", wantText: "at least one"},
		"listen of wrong type":       {config: json.RawMessage(`{"listen": "0.0.0.0:8888"}`), wantPath: "listen", wantText: "want a list of a string"},
		"negative keepalive":         {config: json.RawMessage(`{"keepalive_seconds": -1}`), wantPath: "keepalive_seconds", wantText: "must be 0"},
		"zero dial timeout":          {config: json.RawMessage(`{"dial_timeout_ms": 0}`), wantPath: "dial_timeout_ms", wantText: "positive"},
		"negative dial timeout":      {config: json.RawMessage(`{"dial_timeout_ms": -5}`), wantPath: "dial_timeout_ms", wantText: "positive"},
		"advertise without port":     {config: json.RawMessage(`{"advertise": ["198.51.100.7"]}`), wantPath: "advertise", wantText: "not a host:port"},
		"advertise port 0":           {config: json.RawMessage(`{"advertise": ["198.51.100.7:0"]}`), wantPath: "advertise", wantText: "from 1 to 65535"},
		"advertise wildcard":         {config: json.RawMessage(`{"advertise": ["0.0.0.0:8888"]}`), wantPath: "advertise", wantText: "wildcard"},
		"advertise IPv6 wildcard":    {config: json.RawMessage(`{"advertise": ["[::]:8888"]}`), wantPath: "advertise", wantText: "wildcard"},
		"advertise empty host":       {config: json.RawMessage(`{"advertise": [":8888"]}`), wantPath: "advertise", wantText: "invalid host"},
		"unknown attribute":          {config: json.RawMessage(`{"tls": true}`), wantPath: "tls", wantText: "unknown attribute"},
		"dial timeout of wrong type": {config: json.RawMessage(`{"dial_timeout_ms": "10s"}`), wantPath: "dial_timeout_ms", wantText: "want a whole number"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := sdktest.New(t, &direct.Plugin{}).Configure(t, tc.config)
			if tc.wantPath == "" {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			ces := sdk.ConfigErrors(err)
			if len(ces) != 1 {
				t.Fatalf("want one config error, got %d: %v", len(ces), err)
			}
			if got := strings.Join(ces[0].Path, "."); got != tc.wantPath || !strings.Contains(ces[0].Summary, tc.wantText) {
				t.Errorf("want path %q and a summary containing %q, got %q %q", tc.wantPath, tc.wantText, got, ces[0].Summary)
			}
		})
	}
}

func TestConfigReportsEveryProblem(t *testing.T) {
	t.Parallel()
	cfg := &direct.Config{Listen: []string{"x"}, DialTimeoutMS: -1, KeepaliveSeconds: -1, Advertise: []string{"y"}}
	var got []string
	for _, ce := range sdk.ConfigErrors(cfg.Validate()) {
		got = append(got, strings.Join(ce.Path, "."))
	}
	if want := []string{"listen", "dial_timeout_ms", "keepalive_seconds", "advertise"}; !slices.Equal(got, want) {
		t.Errorf("want errors at %v, got %v", want, got)
	}
}

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	cfg, ok := (&direct.Plugin{}).DefaultConfig().(*direct.Config)
	if !ok {
		t.Fatalf("want a *direct.Config, got %T", cfg)
	}
	want := direct.Config{Listen: []string{"0.0.0.0:8888", "[::]:8888"}, DialTimeoutMS: 10000, KeepaliveSeconds: 30}
	if !slices.Equal(cfg.Listen, want.Listen) || cfg.DialTimeoutMS != want.DialTimeoutMS ||
		cfg.KeepaliveSeconds != want.KeepaliveSeconds || len(cfg.Advertise) != 0 {
		t.Errorf("want %+v, got %+v", want, *cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("want the defaults valid, got %v", err)
	}
	cfg.Listen[0] = "changed"
	if again := (&direct.Plugin{}).DefaultConfig().(*direct.Config); again.Listen[0] != "0.0.0.0:8888" {
		t.Errorf("want every DefaultConfig to have its own list, got %v", again.Listen)
	}
}

// TestParseURI: the plugin parses with dpcuri.ParseAddress (whose own tests
// hold the cases of the grammar) and reports a bad URI as
// sdk.ErrInvalidArgument, so that it crosses the wire as such.
func TestParseURI(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		uri      string
		want     string
		wantText string
	}{
		"IPv4 with node_id":     {uri: "dpc://198.51.100.7:8888?node_id=dpc-node-abc", want: "198.51.100.7:8888"},
		"IPv4 without port":     {uri: "dpc://198.51.100.7", want: "198.51.100.7:8888"},
		"IPv6 with zone":        {uri: "dpc://[fe80::1%25eth0]:1", want: "[fe80::1%eth0]:1"},
		"host name":             {uri: "dpc://peer.example.org:9000", want: "peer.example.org:9000"},
		"other query":           {uri: "dpc://127.0.0.1:1?node_id=a&hint=b", want: "127.0.0.1:1"},
		"other scheme":          {uri: "tcp://127.0.0.1:8888", wantText: `transport-direct: invalid argument: invalid dpc URI "tcp://127.0.0.1:8888": scheme is "tcp"`},
		"path":                  {uri: "dpc://127.0.0.1:8888/peer", wantText: `path "/peer" not allowed after host:port`},
		"port 0":                {uri: "dpc://127.0.0.1:0", wantText: `bad port "0" (want 1-65535)`},
		"IPv6 without brackets": {uri: "dpc://::1:8888", wantText: "must be in brackets"},
		"bad host name":         {uri: "dpc://exa_mple.org:1", wantText: `bad character '_' in host name`},
		"IPv4 wildcard":         {uri: "dpc://0.0.0.0:8888", wantText: "wildcard"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := direct.ParseURI(tc.uri)
			if tc.wantText == "" {
				if err != nil || got != tc.want {
					t.Errorf("want %q, got %q (err %v)", tc.want, got, err)
				}
				return
			}
			if !errors.Is(err, sdk.ErrInvalidArgument) || !errors.Is(err, direct.ErrInvalidURI) || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("want sdk.ErrInvalidArgument and ErrInvalidURI mentioning %q, got %q (err %v)", tc.wantText, got, err)
			}
		})
	}
}

func TestDialRejectsBadURIOverTheWire(t *testing.T) {
	t.Parallel()
	h := sdktest.New(t, &direct.Plugin{})
	if err := h.Configure(t, testConfig()); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	_, err := h.Client.Transport.Dial(context.Background(), sdk.DialRequest{URI: "tcp://127.0.0.1:1"})
	if !errors.Is(err, sdk.ErrInvalidArgument) || !strings.Contains(err.Error(), `scheme is "tcp"`) {
		t.Errorf("want sdk.ErrInvalidArgument naming the scheme, got %v", err)
	}
}

func TestListenDualStack(t *testing.T) {
	t.Parallel()
	needIPv6(t)
	tests := map[string]struct {
		// addrs are listen addresses; PORT stands for a free port.
		addrs []string
		// wantAccept lists the addresses a dial must reach, by the
		// listener address (index into addrs) that must accept it.
		wantAccept map[string]int
		samePort   bool
	}{
		"both wildcards on one port": {
			addrs:      []string{"0.0.0.0:PORT", "[::]:PORT"},
			wantAccept: map[string]int{"127.0.0.1": 0, "::1": 1},
			samePort:   true,
		},
		"IPv6 wildcard first": {
			addrs:      []string{"[::]:PORT", "0.0.0.0:PORT"},
			wantAccept: map[string]int{"127.0.0.1": 1, "::1": 0},
			samePort:   true,
		},
		"IPv6 wildcard and IPv4 loopback": {
			addrs:      []string{"127.0.0.1:PORT", "[::]:PORT"},
			wantAccept: map[string]int{"127.0.0.1": 0, "::1": 1},
			samePort:   true,
		},
		"IPv6 wildcard alone is dual stack": {
			addrs:      []string{"[::]:PORT"},
			wantAccept: map[string]int{"127.0.0.1": 0, "::1": 0},
		},
		"both wildcards on port 0": {
			addrs:      []string{"0.0.0.0:0", "[::]:0"},
			wantAccept: map[string]int{"127.0.0.1": 0, "::1": 1},
		},
		"loopbacks": {
			addrs:      []string{"127.0.0.1:0", "[::1]:0"},
			wantAccept: map[string]int{"127.0.0.1": 0, "::1": 1},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newPlugin(t, testConfig())
			var ln sdk.Listener
			// Another process may take the free port between freePort and
			// Listen: try a few ports.
			for attempt := 0; ; attempt++ {
				port := strconv.Itoa(freePort(t))
				var addrs []string
				for _, a := range tc.addrs {
					addrs = append(addrs, strings.ReplaceAll(a, "PORT", port))
				}
				var err error
				ln, err = p.Listen(context.Background(), sdk.ListenRequest{Addresses: addrs})
				if err == nil {
					t.Cleanup(func() { _ = ln.Close() })
					break
				}
				if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
					t.Fatalf("Listen %v: %v", addrs, err)
				}
			}
			bound := ln.Addresses()
			if len(bound) != len(tc.addrs) {
				t.Fatalf("want %d bound addresses, got %v", len(tc.addrs), bound)
			}
			for i, a := range bound {
				if portOf(t, a) == 0 {
					t.Errorf("want the real port reported, got %q", a)
				}
				if tc.samePort && portOf(t, a) != portOf(t, bound[0]) {
					t.Errorf("want every address on one port, got %v", bound)
				}
				if wantHost, _, _ := net.SplitHostPort(strings.ReplaceAll(tc.addrs[i], "PORT", "1")); !strings.HasPrefix(a, net.JoinHostPort(wantHost, "")) {
					t.Errorf("address %d: want host %q, got %q", i, wantHost, a)
				}
			}
			for host, idx := range tc.wantAccept {
				uri := "dpc://" + net.JoinHostPort(host, strconv.Itoa(portOf(t, bound[idx])))
				dialed, accepted := connect(t, p, ln, uri)
				if got := accepted.LocalAddress(); portOf(t, got) != portOf(t, bound[idx]) || !strings.Contains(got, host) {
					t.Errorf("dialing %s: want it accepted on %s (local %s), got local %s", uri, bound[idx], host, got)
				}
				if accepted.RemoteAddress() != dialed.LocalAddress() || dialed.RemoteAddress() != accepted.LocalAddress() {
					t.Errorf("want the ends to mirror each other, got dialed %s→%s, accepted %s→%s",
						dialed.LocalAddress(), dialed.RemoteAddress(), accepted.LocalAddress(), accepted.RemoteAddress())
				}
				_ = dialed.Close()
				_ = accepted.Close()
			}
		})
	}
}

func TestListenURIs(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		addrs     []string
		advertise []string
		ipv6      bool
		// want returns the URIs that must be reported, given the bound
		// ports; wantNot are substrings that must not appear.
		want    func(ports []int) []string
		exact   bool
		wantNot []string
	}{
		"loopback": {
			addrs: []string{"127.0.0.1:0"},
			want:  func(p []int) []string { return []string{"dpc://127.0.0.1:" + strconv.Itoa(p[0])} },
			exact: true,
		},
		"IPv6 loopback is bracketed": {
			addrs: []string{"[::1]:0"}, ipv6: true,
			want:  func(p []int) []string { return []string{"dpc://[::1]:" + strconv.Itoa(p[0])} },
			exact: true,
		},
		"IPv4 wildcard is expanded, IPv4 only": {
			addrs:   []string{"0.0.0.0:0"},
			want:    func(p []int) []string { return []string{"dpc://127.0.0.1:" + strconv.Itoa(p[0])} },
			wantNot: []string{"0.0.0.0", "[", "169.254."},
		},
		"IPv6-only wildcard is expanded, IPv6 only": {
			addrs: []string{"0.0.0.0:0", "[::]:0"}, ipv6: true,
			want: func(p []int) []string {
				return []string{"dpc://127.0.0.1:" + strconv.Itoa(p[0]), "dpc://[::1]:" + strconv.Itoa(p[1])}
			},
			wantNot: []string{"0.0.0.0", "[::]", "[fe80:", "169.254."},
		},
		"dual-stack wildcard is expanded to both families": {
			addrs: []string{"[::]:0"}, ipv6: true,
			want: func(p []int) []string {
				return []string{"dpc://127.0.0.1:" + strconv.Itoa(p[0]), "dpc://[::1]:" + strconv.Itoa(p[0])}
			},
			wantNot: []string{"[::]", "[fe80:", "169.254."},
		},
		"advertise replaces the bound addresses": {
			addrs:     []string{"127.0.0.1:0", "0.0.0.0:0"},
			advertise: []string{"198.51.100.7:8888", "[2001:db8::7]:9000", "peer.example.org:1"},
			want: func([]int) []string {
				return []string{"dpc://198.51.100.7:8888", "dpc://[2001:db8::7]:9000", "dpc://peer.example.org:1"}
			},
			exact: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if tc.ipv6 {
				needIPv6(t)
			}
			cfg := testConfig()
			cfg.Advertise = tc.advertise
			p := newPlugin(t, cfg)
			ln := listen(t, p, tc.addrs...)
			var ports []int
			for _, a := range ln.Addresses() {
				ports = append(ports, portOf(t, a))
			}
			got := ln.URIs()
			want := tc.want(ports)
			if tc.exact && !slices.Equal(got, want) {
				t.Errorf("want URIs %v, got %v", want, got)
			}
			for _, w := range want {
				if !slices.Contains(got, w) {
					t.Errorf("want %q among the URIs, got %v", w, got)
				}
			}
			for _, u := range got {
				if _, err := direct.ParseURI(u); err != nil {
					t.Errorf("want every URI dialable, got %v", err)
				}
				for _, bad := range tc.wantNot {
					if strings.Contains(u, bad) {
						t.Errorf("want no URI containing %q, got %q", bad, u)
					}
				}
			}
			if i := slices.IndexFunc(got, func(u string) bool { return strings.Contains(u, "127.0.0.1") || strings.Contains(u, "[::1]") }); i >= 0 && !tc.exact {
				for _, u := range got[i:] {
					if !strings.Contains(u, "127.0.0.1") && !strings.Contains(u, "[::1]") {
						t.Errorf("want loopback URIs last, got %v", got)
						break
					}
				}
			}
			// Dial the loopback URI: it must reach this listener.
			if !tc.exact || len(tc.advertise) == 0 {
				_, _ = connect(t, p, ln, want[0])
			}
		})
	}
}

func TestListenUsesConfiguredAddresses(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Listen = []string{"127.0.0.1:0", "localhost:0"}
	p := newPlugin(t, cfg)
	ln := listen(t, p) // no addresses: the configured ones
	if got := ln.Addresses(); len(got) != 2 || !strings.HasPrefix(got[0], "127.0.0.1:") || portOf(t, got[0]) == 0 {
		t.Errorf("want two bound addresses, the first 127.0.0.1 with a real port, got %v", got)
	}
	ln2 := listen(t, p, "127.0.0.1:0")
	if got := ln2.Addresses(); len(got) != 1 {
		t.Errorf("want the request's addresses to win over the config, got %v", got)
	}
}

func TestListenFailureClosesTheOthers(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	p := newPlugin(t, testConfig())
	free := closedPort(t)
	freeAddr := "127.0.0.1:" + strconv.Itoa(free)
	busyAddr := busy.Addr().String()

	tests := map[string]struct {
		addrs    []string
		wantText string
		wantIs   error
	}{
		"address in use":      {addrs: []string{freeAddr, busyAddr}, wantText: "listen on " + busyAddr},
		"not host:port":       {addrs: []string{freeAddr, "nonsense"}, wantText: `"nonsense"`, wantIs: sdk.ErrInvalidArgument},
		"one address twice":   {addrs: []string{freeAddr, freeAddr}, wantText: "listen on " + freeAddr},
		"not a local address": {addrs: []string{freeAddr, "203.0.113.1:0"}, wantText: "listen on 203.0.113.1:0"},
	}
	for _, name := range []string{"address in use", "not host:port", "one address twice", "not a local address"} {
		tc := tests[name]
		t.Run(name, func(t *testing.T) {
			_, err := p.Listen(context.Background(), sdk.ListenRequest{Addresses: tc.addrs})
			if err == nil || !strings.Contains(err.Error(), tc.wantText) || (tc.wantIs != nil && !errors.Is(err, tc.wantIs)) {
				t.Fatalf("want an error containing %q, got %v", tc.wantText, err)
			}
			// The address bound before the failure was released.
			ln, err := net.Listen("tcp", freeAddr)
			if err != nil {
				t.Fatalf("want %s released, got %v", freeAddr, err)
			}
			_ = ln.Close()
		})
	}
}

func TestListenerClose(t *testing.T) {
	t.Parallel()
	p := newPlugin(t, testConfig())
	ln, err := p.Listen(context.Background(), sdk.ListenRequest{Addresses: []string{"127.0.0.1:0", "127.0.0.1:0"}})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	addrs := ln.Addresses()
	done := make(chan error, 1)
	accepting := make(chan struct{})
	go func() {
		close(accepting)
		_, err := ln.Accept()
		done <- err
	}()
	// Close as Accept waits (or, rarely, just before it is called): either
	// way Accept must return net.ErrClosed.
	<-accepting
	if err := ln.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("pending Accept: want net.ErrClosed, got %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("want the pending Accept to return after Close, still waiting after a minute")
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: want net.ErrClosed, got %v", err)
	}
	if err := ln.Close(); err != nil {
		t.Errorf("second Close: want nil, got %v", err)
	}
	for _, a := range addrs {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			_ = c.Close()
			t.Errorf("want %s closed, but it accepted a connection", a)
		}
	}
}

func TestDialUnavailable(t *testing.T) {
	t.Parallel()
	p := newPlugin(t, testConfig())
	addr := "127.0.0.1:" + strconv.Itoa(closedPort(t))
	_, err := p.Dial(context.Background(), sdk.DialRequest{URI: "dpc://" + addr + "?node_id=x"})
	if !errors.Is(err, sdk.ErrUnavailable) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("want sdk.ErrUnavailable naming %s and the refusal, got %v", addr, err)
	}

	// Over the wire the sentinel survives.
	h := sdktest.New(t, &direct.Plugin{})
	if err := h.Configure(t, testConfig()); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	_, err = h.Client.Transport.Dial(context.Background(), sdk.DialRequest{URI: "dpc://" + addr})
	if !errors.Is(err, sdk.ErrUnavailable) || !strings.Contains(err.Error(), addr) {
		t.Errorf("over gRPC: want sdk.ErrUnavailable naming %s, got %v", addr, err)
	}
}

func TestDialCancelled(t *testing.T) {
	t.Parallel()
	p := newPlugin(t, testConfig())
	ln := listen(t, p, "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Dial(ctx, sdk.DialRequest{URI: ln.URIs()[0]})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("want context.Canceled, got %v", err)
	}
}

// transfer is how much each direction carries in TestTransfer.
const transfer = 16 << 20

func TestTransfer(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		// sequential: the dialer sends everything and half-closes, the
		// acceptor reads to EOF and only then answers.
		sequential bool
	}{
		"half-close then answer": {sequential: true},
		"both ways at once":      {sequential: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := sdktest.New(t, &direct.Plugin{})
			if err := h.Configure(t, testConfig()); err != nil {
				t.Fatalf("Configure: %v", err)
			}
			tr := h.Client.Transport
			ln := listen(t, tr, "127.0.0.1:0")
			dialed, accepted := connect(t, tr, ln, ln.URIs()[0])
			if dialed.RemoteAddress() != ln.Addresses()[0] || accepted.RemoteAddress() != dialed.LocalAddress() {
				t.Errorf("want the dialer connected to %s from %s, got %s→%s (acceptor sees %s)",
					ln.Addresses()[0], accepted.RemoteAddress(), dialed.LocalAddress(), dialed.RemoteAddress(), accepted.RemoteAddress())
			}

			up, down := make([]byte, transfer), make([]byte, transfer)
			_, _ = rand.Read(up)
			_, _ = rand.Read(down)
			send := func(c sdk.Conn, data []byte) <-chan error {
				ch := make(chan error, 1)
				go func() {
					_, err := c.Write(data)
					if err == nil {
						err = c.CloseWrite()
					}
					ch <- err
				}()
				return ch
			}
			check := func(what string, c sdk.Conn, want []byte) {
				got, err := io.ReadAll(c)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s: want %d bytes (sha256 %x) then EOF, got %d bytes (sha256 %x, err %v)",
						what, len(want), sha256.Sum256(want), len(got), sha256.Sum256(got), err)
				}
			}

			upDone := send(dialed, up)
			var downDone <-chan error
			if !tc.sequential {
				downDone = send(accepted, down)
			}
			var wg sync.WaitGroup
			wg.Go(func() { check("dialer→acceptor", accepted, up) })
			if tc.sequential {
				wg.Wait()
				// The dialer half-closed; it must still be able to read.
				downDone = send(accepted, down)
			}
			check("acceptor→dialer", dialed, down)
			wg.Wait()
			for what, ch := range map[string]<-chan error{"dialer": upDone, "acceptor": downDone} {
				if err := <-ch; err != nil {
					t.Errorf("%s write and CloseWrite: %v", what, err)
				}
			}
		})
	}
}

func TestShutdownClosesEverything(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := &direct.Plugin{}
	if err := p.Configure(ctx, sdk.ConfigureRequest{Config: testConfig()}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	ln, err := p.Listen(ctx, sdk.ListenRequest{Addresses: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	// A connection the plugin dialed to an outside peer...
	peer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	dialed, err := p.Dial(ctx, sdk.DialRequest{URI: "dpc://" + peer.Addr().String()})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	outside, err := peer.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer outside.Close()
	// ...and one the plugin accepted from an outside dialer.
	ch := acceptOne(t, ln)
	incoming, err := net.Dial("tcp", ln.Addresses()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer incoming.Close()
	accepted := <-ch
	if accepted == nil {
		t.FailNow()
	}

	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for name, c := range map[string]net.Conn{"dialed": outside, "accepted": incoming} {
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		if n, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("%s connection: want the peer to read EOF, got %d bytes (err %v)", name, n, err)
		}
	}
	for name, c := range map[string]sdk.Conn{"dialed": dialed, "accepted": accepted} {
		if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s connection: want writes to fail with net.ErrClosed, got %v", name, err)
		}
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Shutdown: want net.ErrClosed, got %v", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addresses()[0], time.Second); err == nil {
		t.Errorf("want %s closed after Shutdown", ln.Addresses()[0])
	}
	if _, err := p.Listen(ctx, sdk.ListenRequest{Addresses: []string{"127.0.0.1:0"}}); !errors.Is(err, sdk.ErrNotConfigured) {
		t.Errorf("Listen after Shutdown: want sdk.ErrNotConfigured, got %v", err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: want nil, got %v", err)
	}
}

func TestShutdownOverTheWire(t *testing.T) {
	t.Parallel()
	h := sdktest.New(t, &direct.Plugin{})
	if err := h.Configure(t, testConfig()); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	tr := h.Client.Transport
	ln := listen(t, tr, "127.0.0.1:0")
	dialed, accepted := connect(t, tr, ln, ln.URIs()[0])
	if err := h.Plugin().Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for name, c := range map[string]sdk.Conn{"dialed": dialed, "accepted": accepted} {
		done := make(chan error, 1)
		go func() { _, err := io.ReadAll(c); done <- err }()
		select {
		case <-done:
			// EOF or an error: either way the connection ended.
		case <-time.After(time.Minute):
			t.Errorf("%s connection: want it to end after Shutdown, still open after a minute", name)
		}
	}
	if _, err := ln.Accept(); err == nil {
		t.Errorf("Accept after Shutdown: want an error, got nil")
	}
}

func TestNotConfigured(t *testing.T) {
	t.Parallel()
	p := &direct.Plugin{}
	ctx := context.Background()
	tests := map[string]func() error{
		"listen": func() error {
			_, err := p.Listen(ctx, sdk.ListenRequest{Addresses: []string{"127.0.0.1:0"}})
			return err
		},
		"dial": func() error { _, err := p.Dial(ctx, sdk.DialRequest{URI: "dpc://127.0.0.1:1"}); return err },
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := call(); !errors.Is(err, sdk.ErrNotConfigured) {
				t.Errorf("want sdk.ErrNotConfigured, got %v", err)
			}
		})
	}
}

func TestShutdownWithoutConfigure(t *testing.T) {
	t.Parallel()
	if err := (&direct.Plugin{}).Shutdown(context.Background()); err != nil {
		t.Errorf("want nil, got %v", err)
	}
}

func TestConfigureRejectsOtherTypes(t *testing.T) {
	t.Parallel()
	err := (&direct.Plugin{}).Configure(context.Background(), sdk.ConfigureRequest{Config: json.RawMessage(`{}`)})
	if !errors.Is(err, sdk.ErrInvalidArgument) {
		t.Errorf("want sdk.ErrInvalidArgument, got %v", err)
	}
}
