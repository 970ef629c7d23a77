package rtc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/plugins/transport-webrtc/rtc"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// node is one plugin instance with its fake host, as one D-PC node.
type node struct {
	id   string
	p    *rtc.Plugin
	host *sdktest.FakeHost
}

// testConfig is the default config with loopback-only candidates' settings
// that keep tests fast.
func testConfig() *rtc.Config {
	cfg := (&rtc.Plugin{}).DefaultConfig().(*rtc.Config)
	cfg.DialTimeoutMS = 15000
	return cfg
}

// testLogger logs to stderr when RTC_TEST_LOG names a level.
func testLogger(name string) hclog.Logger {
	if lvl := os.Getenv("RTC_TEST_LOG"); lvl != "" {
		return hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.LevelFromString(lvl)})
	}
	return hclog.NewNullLogger()
}

// newNode configures a plugin with cfg under node id, shut down when the
// test ends.
func newNode(t testing.TB, id string, cfg *rtc.Config) *node {
	t.Helper()
	n := &node{id: id, p: &rtc.Plugin{}, host: sdktest.NewFakeHost(t)}
	if err := n.p.Configure(context.Background(), sdk.ConfigureRequest{
		Config: cfg, Host: n.host, NodeID: id, Logger: testLogger(id),
	}); err != nil {
		t.Fatalf("Configure %s: %v", id, err)
	}
	t.Cleanup(func() { _ = n.p.Shutdown(context.Background()) })
	return n
}

// hub wires nodes as a hub would: each signal a node sends via the hub
// reaches the named peer's HandleSignal with From = hub and PeerNodeID =
// the sender.
func hub(nodes ...*node) {
	byID := map[string]*node{}
	for _, n := range nodes {
		byID[n.id] = n
	}
	for _, n := range nodes {
		from := n.id
		n.host.OnRouteSignal = func(s sdk.Signal) error {
			if s.To != sdk.SignalViaHub {
				return nil
			}
			peer := byID[s.PeerNodeID]
			if peer == nil {
				return nil
			}
			_ = peer.p.HandleSignal(context.Background(), sdk.Signal{
				From: sdk.SignalViaHub, Type: s.Type, Payload: s.Payload, PeerNodeID: from,
			})
			return nil
		}
	}
}

// pair returns two wired nodes, b listening.
func pair(t testing.TB, cfgA, cfgB *rtc.Config) (a, b *node, ln sdk.Listener) {
	t.Helper()
	a, b = newNode(t, "dpc-node-a", cfgA), newNode(t, "dpc-node-b", cfgB)
	hub(a, b)
	ln, err := b.p.Listen(context.Background(), sdk.ListenRequest{})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return a, b, ln
}

// connect dials b from a and returns both ends.
func connect(t testing.TB, a, b *node, ln sdk.Listener) (dialed, accepted sdk.Conn) {
	t.Helper()
	type res struct {
		c   sdk.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dialed, err := a.p.Dial(ctx, sdk.DialRequest{ExpectedNodeID: b.id})
	if err != nil {
		t.Fatalf("Dial %s: %v", b.id, err)
	}
	t.Cleanup(func() { _ = dialed.Close() })
	r := <-ch
	if r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}
	t.Cleanup(func() { _ = r.c.Close() })
	return dialed, r.c
}

// readErr reads from c until it fails and returns the error (nil for EOF
// is never returned: io.EOF itself is).
func readErr(c io.Reader) error {
	buf := make([]byte, 64<<10)
	for {
		if _, err := c.Read(buf); err != nil {
			return err
		}
	}
}

// isClosedErr says whether err says the connection was closed (not EOF).
func isClosedErr(err error) bool {
	return err != nil && !errors.Is(err, io.EOF) && (errors.Is(err, rtc.ErrClosedByPeer) || errors.Is(err, net.ErrClosed) || errors.Is(err, rtc.ErrPathLost))
}

// waitSignal waits (up to a generous deadline) until h has routed a signal
// that ok accepts.
func waitSignal(t testing.TB, h *sdktest.FakeHost, ok func(sdk.Signal) bool) bool {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		changed := h.Changed()
		for _, s := range h.Signals() {
			if ok(s) {
				return true
			}
		}
		select {
		case <-changed:
		case <-deadline:
			return false
		}
	}
}
