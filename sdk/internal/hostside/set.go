package hostside

import (
	"context"
	"errors"
	"fmt"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	backupv1 "github.com/dpc-go/dpc/proto/dpc/backup/v1"
	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
	hubv1 "github.com/dpc-go/dpc/proto/dpc/hub/v1"
	llmv1 "github.com/dpc-go/dpc/proto/dpc/llm/v1"
	transportv1 "github.com/dpc-go/dpc/proto/dpc/transport/v1"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/internal/wire"
)

// ErrUnknownKind means a plugin reported a kind this host does not know.
var ErrUnknownKind = errors.New("plugin reported an unknown kind")

// ClientSets maps each API version the host speaks to the set that can
// dispense base and every kind.
func ClientSets() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{wire.APIVersion: {
		wire.NameBase: &wire.Dispenser{NewClient: func(broker *plugin.GRPCBroker, c *grpc.ClientConn) any {
			return &Base{c: basev1.NewBaseClient(c), broker: broker}
		}},
		string(sdk.KindTransport): dispenser(func(c *grpc.ClientConn) any { return transportv1.NewTransportClient(c) }),
		string(sdk.KindLLM):       dispenser(func(c *grpc.ClientConn) any { return llmv1.NewLLMClient(c) }),
		string(sdk.KindBackup):    dispenser(func(c *grpc.ClientConn) any { return backupv1.NewBackupClient(c) }),
		string(sdk.KindHub):       dispenser(func(c *grpc.ClientConn) any { return hubv1.NewHubClient(c) }),
	}}
}

// dispenser dispenses a kind's service, whose client newClient makes.
func dispenser(newClient func(*grpc.ClientConn) any) *wire.Dispenser {
	return &wire.Dispenser{NewClient: func(_ *plugin.GRPCBroker, c *grpc.ClientConn) any { return newClient(c) }}
}

// Dispense returns the Base of a started plugin and, bound to it, the
// client of the kind info reports.
func Dispense(rpc plugin.ClientProtocol) (*Base, error) {
	raw, err := rpc.Dispense(wire.NameBase)
	if err != nil {
		return nil, fmt.Errorf("dispensing base: %w", err)
	}
	return raw.(*Base), nil
}

// Bind dispenses the client of kind from rpc, bound to base.
func Bind(rpc plugin.ClientProtocol, base *Base, kind sdk.Kind) (sdk.Plugin, error) {
	newClient, ok := map[sdk.Kind]func(*Base, any) sdk.Plugin{
		sdk.KindTransport: func(b *Base, raw any) sdk.Plugin { return newTransportClient(b, raw) },
		sdk.KindLLM:       func(b *Base, raw any) sdk.Plugin { return newLLMClient(b, raw) },
		sdk.KindBackup:    func(b *Base, raw any) sdk.Plugin { return newBackupClient(b, raw) },
		sdk.KindHub:       func(b *Base, raw any) sdk.Plugin { return newHubClient(b, raw) },
	}[kind]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	raw, err := rpc.Dispense(string(kind))
	if err != nil {
		return nil, fmt.Errorf("dispensing %s: %w", kind, err)
	}
	return newClient(base, raw), nil
}

// InProcess joins a plugin-side set (sdk.Serve's) with this side's, for
// go-plugin's in-process test connection, which serves and dispenses from
// one set.
func InProcess(served plugin.PluginSet) plugin.PluginSet {
	out := plugin.PluginSet{}
	dispense := ClientSets()[wire.APIVersion]
	for name, s := range served {
		out[name] = &bothSides{serve: s.(plugin.GRPCPlugin), dispense: dispense[name].(plugin.GRPCPlugin)}
	}
	return out
}

// bothSides serves with one side's plugin and dispenses with the other's.
type bothSides struct {
	plugin.NetRPCUnsupportedPlugin
	serve, dispense plugin.GRPCPlugin
}

func (b *bothSides) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	return b.serve.GRPCServer(broker, s)
}

func (b *bothSides) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return b.dispense.GRPCClient(ctx, broker, c)
}
