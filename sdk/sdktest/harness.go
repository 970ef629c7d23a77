package sdktest

import (
	"context"
	"testing"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/pluginhost"
)

// TestNodeID is the node_id the harness's fake host reports.
const TestNodeID = "dpc-node-00000000000000000000000000000000"

// Harness is one plugin served in-process.
type Harness struct {
	// Client is the host-side view of the plugin.
	Client *pluginhost.Client
	// Host is the fake host the plugin calls back into.
	Host *FakeHost
}

// New serves impl in-process over real gRPC and returns the host-side client.
// Everything is torn down with t.Cleanup.
func New(t testing.TB, impl sdk.Plugin) *Harness {
	t.Helper()
	set, err := pluginhost.InProcessSet(impl)
	if err != nil {
		t.Fatalf("sdktest.New: %v", err)
	}
	rpc, server := plugin.TestPluginGRPCConn(t, false, set)
	t.Cleanup(func() {
		// Stop the server first: rpc.Close asks the server (over the
		// controller service) to stop itself on one of its own goroutines,
		// and a second Stop racing with that one is a data race in
		// go-plugin. Once the server is stopped that request just fails.
		server.Stop()
		_ = rpc.Close()
	})
	pc, err := pluginhost.Dispense(context.Background(), rpc)
	if err != nil {
		t.Fatalf("sdktest.New: %v", err)
	}
	return &Harness{Client: pc, Host: NewFakeHost(t)}
}

// Plugin returns the plugin behind its kind's interface, over gRPC.
func (h *Harness) Plugin() sdk.Plugin { return h.Client.Impl() }

// Configure configures the plugin the way the host does. cfg is a pointer to
// the plugin's config struct, raw JSON (json.RawMessage), or nil.
func (h *Harness) Configure(t testing.TB, cfg any) error {
	t.Helper()
	return h.Plugin().Configure(context.Background(), sdk.ConfigureRequest{
		Config: cfg, Host: h.Host, NodeID: h.Host.nodeID(), DataDir: t.TempDir(), APIVersion: sdk.APIVersion,
	})
}
