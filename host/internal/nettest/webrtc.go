package nettest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/pluginhost"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// SignalHub carries the signals of nodes' transport-webrtc plugins to one
// another, as a hub and the hosts' signal routing would: a signal a plugin
// sends via the hub reaches the target node's plugin, in order, with the
// sender's node_id as its peer.
type SignalHub struct {
	mu    sync.Mutex
	nodes map[string]*pluginhost.Client
}

// NewSignalHub returns a hub with no node yet.
func NewSignalHub() *SignalHub { return &SignalHub{nodes: map[string]*pluginhost.Client{}} }

// transport starts node's transport-webrtc subprocess on this hub, stopped
// when the test ends.
func (h *SignalHub) transport(tb testing.TB, node string) sdk.Transport {
	tb.Helper()
	host := sdktest.NewFakeHost(tb)
	host.OnRouteSignal = func(s sdk.Signal) error { return h.route(node, s) }
	bin, sum := PluginBinary(tb, "transport-webrtc")
	c := launchWithHost(tb, bin, sum, "", host)
	h.mu.Lock()
	h.nodes[node] = c
	h.mu.Unlock()
	tb.Cleanup(func() {
		h.mu.Lock()
		delete(h.nodes, node)
		h.mu.Unlock()
	})
	return c.Transport
}

// route hands s, sent by from's plugin via the hub, to its target's plugin.
func (h *SignalHub) route(from string, s sdk.Signal) error {
	if s.To != sdk.SignalViaHub {
		return fmt.Errorf("%w: the test hub only carries signals via the hub, not to %q", sdk.ErrNotFound, s.To)
	}
	h.mu.Lock()
	target, ok := h.nodes[s.PeerNodeID]
	h.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s is not on the test hub", sdk.ErrUnavailable, s.PeerNodeID)
	}
	return target.HandleSignal(context.Background(), sdk.Signal{From: sdk.SignalViaHub, Type: s.Type, Payload: s.Payload, PeerNodeID: from})
}
