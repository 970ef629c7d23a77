package rtc_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/plugins/transport-webrtc/rtc"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

func TestConfig(t *testing.T) {
	tests := map[string]struct {
		edit     func(*rtc.Config)
		wantPath string // "" means valid
		wantText string
	}{
		"defaults": {edit: func(*rtc.Config) {}},
		"stun and turn servers": {edit: func(c *rtc.Config) {
			c.IceServers = []string{"stun:stun.example.org:3478"}
			c.IceServerBlocks = []rtc.IceServerBlock{{URLs: []string{"turn:turn.example.org:3478?transport=udp"}, Username: "u", Credential: "p"}}
		}},
		"port range":            {edit: func(c *rtc.Config) { c.UDPPortMin, c.UDPPortMax = 50000, 50100 }},
		"bad ice url":           {edit: func(c *rtc.Config) { c.IceServers = []string{"http://example.org"} }, wantPath: "ice_servers", wantText: "not a stun:"},
		"block without urls":    {edit: func(c *rtc.Config) { c.IceServerBlocks = []rtc.IceServerBlock{{}} }, wantPath: "urls", wantText: "at least one"},
		"block bad url":         {edit: func(c *rtc.Config) { c.IceServerBlocks = []rtc.IceServerBlock{{URLs: []string{"turn"}}} }, wantPath: "urls", wantText: "not a stun:"},
		"port max below min":    {edit: func(c *rtc.Config) { c.UDPPortMin, c.UDPPortMax = 50100, 50000 }, wantPath: "udp_port_min", wantText: "range"},
		"port min only":         {edit: func(c *rtc.Config) { c.UDPPortMin = 50000 }, wantPath: "udp_port_min", wantText: "range"},
		"negative buffer":       {edit: func(c *rtc.Config) { c.UDPBufferBytes = -1 }, wantPath: "udp_buffer_bytes"},
		"zero dial timeout":     {edit: func(c *rtc.Config) { c.DialTimeoutMS = 0 }, wantPath: "dial_timeout_ms"},
		"zero reconnect":        {edit: func(c *rtc.Config) { c.ReconnectTimeoutMS = 0 }, wantPath: "reconnect_timeout_ms"},
		"zero pending":          {edit: func(c *rtc.Config) { c.MaxPending = 0 }, wantPath: "max_pending"},
		"zero pending per peer": {edit: func(c *rtc.Config) { c.MaxPendingPerPeer = 0 }, wantPath: "max_pending_per_peer"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := (&rtc.Plugin{}).DefaultConfig().(*rtc.Config)
			tc.edit(cfg)
			err := (&rtc.Plugin{}).Configure(context.Background(), sdk.ConfigureRequest{Config: cfg})
			if tc.wantPath == "" {
				if err != nil {
					t.Fatalf("want it valid, got %v", err)
				}
				return
			}
			ces := sdk.ConfigErrors(err)
			if !slices.ContainsFunc(ces, func(ce *sdk.ConfigError) bool {
				return slices.Contains(ce.Path, tc.wantPath) && strings.Contains(ce.Error(), tc.wantText)
			}) {
				t.Fatalf("want a ConfigError at %q saying %q, got %v", tc.wantPath, tc.wantText, err)
			}
		})
	}
}

func TestDefaultConfigConnectsOnOneMachine(t *testing.T) {
	cfg := (&rtc.Plugin{}).DefaultConfig().(*rtc.Config)
	if !cfg.IncludeLoopback || cfg.RelayOnly || cfg.UDPBufferBytes != rtc.DefaultUDPBufferBytes {
		t.Errorf("defaults: want loopback candidates, no relay_only and %d-byte buffers, got %+v", rtc.DefaultUDPBufferBytes, cfg)
	}
}

func TestNotConfigured(t *testing.T) {
	p := &rtc.Plugin{}
	if _, err := p.Dial(context.Background(), sdk.DialRequest{ExpectedNodeID: "dpc-node-b"}); !errors.Is(err, sdk.ErrNotConfigured) {
		t.Errorf("Dial: want ErrNotConfigured, got %v", err)
	}
	if _, err := p.Listen(context.Background(), sdk.ListenRequest{}); !errors.Is(err, sdk.ErrNotConfigured) {
		t.Errorf("Listen: want ErrNotConfigured, got %v", err)
	}
	if err := p.HandleSignal(context.Background(), sdk.Signal{From: sdk.SignalViaHub}); !errors.Is(err, sdk.ErrNotConfigured) {
		t.Errorf("HandleSignal: want ErrNotConfigured, got %v", err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown without Configure: %v", err)
	}
}

func TestOneListenerAtATime(t *testing.T) {
	n := newNode(t, "dpc-node-b", testConfig())
	ln, err := n.p.Listen(context.Background(), sdk.ListenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ln.URIs()) != 0 {
		t.Errorf("URIs: want none (reached by node_id), got %v", ln.URIs())
	}
	if _, err := n.p.Listen(context.Background(), sdk.ListenRequest{}); !errors.Is(err, sdk.ErrInvalidArgument) {
		t.Errorf("second Listen: want ErrInvalidArgument, got %v", err)
	}
	_ = ln.Close()
	if _, err := ln.Accept(); err == nil {
		t.Errorf("Accept after Close: want an error")
	}
	ln2, err := n.p.Listen(context.Background(), sdk.ListenRequest{})
	if err != nil {
		t.Fatalf("Listen after Close: %v", err)
	}
	_ = ln2.Close()
}

// noTURNHost is a host whose hub offers no STUN/TURN (dpc-hub today).
type noTURNHost struct{ *sdktest.FakeHost }

func (noTURNHost) IceServers(context.Context) ([]sdk.IceServer, error) {
	return nil, fmt.Errorf("%w: this hub has no ICE/TURN servers", sdk.ErrUnsupported)
}

func TestHubWithoutTURNIsNoWarning(t *testing.T) {
	// A hub without TURN (sdk.ErrUnsupported) is normal, not a warning at
	// every connection; the dial goes on with the configured servers.
	logs := &llmhttptest.Logs{} // a concurrency-safe log sink
	a := newNode(t, "dpc-node-a", testConfig())
	b := newNode(t, "dpc-node-b", testConfig())
	hub(a, b)
	if err := a.p.Configure(context.Background(), sdk.ConfigureRequest{
		Config: testConfig(), Host: noTURNHost{a.host}, NodeID: a.id,
		Logger: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Warn}),
	}); err != nil {
		t.Fatal(err)
	}
	ln, err := b.p.Listen(context.Background(), sdk.ListenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dialed, accepted := connect(t, a, b, ln)
	echo(t, dialed, accepted, "no hub servers")
	if out := logs.String(); strings.Contains(out, "[WARN]") {
		t.Errorf("want no warning for a hub without TURN, got:\n%s", out)
	}
}
