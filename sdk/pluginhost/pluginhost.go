package pluginhost

import (
	"context"
	"fmt"
	"time"

	plugin "github.com/hashicorp/go-plugin"

	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/internal/hostside"
	"github.com/dpc-go/dpc/sdk/internal/wire"
)

// Handshake is the go-plugin handshake every D-PC plugin answers.
var Handshake = wire.Handshake

// Errors of the host side.
var (
	// ErrUnknownKind means a plugin reported a kind this host does not know.
	ErrUnknownKind = hostside.ErrUnknownKind
	// ErrConnectionClosed is returned by a plugin connection's Read or
	// Write after the other side closed it.
	ErrConnectionClosed = hostside.ErrConnectionClosed
	// ErrStreamEndedEarly means an LLM stream ended without its result.
	ErrStreamEndedEarly = hostside.ErrStreamEndedEarly
)

// PluginSets returns the plugin sets for every API version this host side
// speaks, for go-plugin's ClientConfig.VersionedPlugins.
func PluginSets() map[int]plugin.PluginSet { return hostside.ClientSets() }

// InProcessSet is the set that serves impl exactly as sdk.Serve does and
// dispenses it as PluginSets do, for go-plugin's in-process test
// connection (plugin.TestPluginGRPCConn); sdktest uses it.
func InProcessSet(impl sdk.Plugin) (plugin.PluginSet, error) {
	served, err := wire.ServerSet(impl, nil)
	if err != nil {
		return nil, err
	}
	return hostside.InProcess(served), nil
}

// ConfigureParams is the host's side of a Configure call: ConfigJSON, the
// plugin's `config {}` block as JSON the host has already validated against
// the plugin's schema; Host, the callbacks the plugin may use (nil: none);
// NodeID, DataDir and the negotiated APIVersion.
type ConfigureParams = hostside.ConfigureParams

// Client is a started, fingerprinted plugin as the host sees it.
// Exactly one of the kind fields is set; each implements the same interface
// the plugin's author implemented, over gRPC.
type Client struct {
	Info sdk.Info

	Transport sdk.Transport
	LLM       sdk.LLM
	Backup    sdk.Backup
	Hub       sdk.Hub

	base *hostside.Base
}

// Impl returns the plugin behind its kind's interface.
func (p *Client) Impl() sdk.Plugin {
	switch {
	case p.Transport != nil:
		return p.Transport
	case p.LLM != nil:
		return p.LLM
	case p.Backup != nil:
		return p.Backup
	default:
		return p.Hub
	}
}

// ConfigSchema returns the schema of the plugin's `config {}` block; nil
// means the plugin takes no configuration.
func (p *Client) ConfigSchema(ctx context.Context) (*basev1.Schema, error) {
	return p.base.ConfigSchema(ctx)
}

// ConfigureRaw configures the plugin with already-validated JSON and returns
// the problems the plugin found as diagnostics (with attribute paths the host
// maps to source positions).
func (p *Client) ConfigureRaw(ctx context.Context, params ConfigureParams) ([]*basev1.Diagnostic, error) {
	return p.base.Configure(ctx, params)
}

// Ping checks that the plugin's own code answers.
func (p *Client) Ping(ctx context.Context) error { return p.base.Ping(ctx) }

// HandleSignal delivers a routed signal to the plugin.
func (p *Client) HandleSignal(ctx context.Context, s sdk.Signal) error {
	return p.base.HandleSignal(ctx, s)
}

// Shutdown asks the plugin to release everything before it is stopped.
func (p *Client) Shutdown(ctx context.Context) error { return p.base.Shutdown(ctx) }

// fingerprintTimeout bounds the GetInfo call a freshly started plugin gets.
const fingerprintTimeout = 10 * time.Second

// Dispense fingerprints a started plugin (GetInfo) and binds the client for
// the kind it reports.
func Dispense(ctx context.Context, rpc plugin.ClientProtocol) (*Client, error) {
	base, err := hostside.Dispense(rpc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, fingerprintTimeout)
	defer cancel()
	info, err := base.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("fingerprinting (GetInfo): %w", err)
	}
	if info.Kind == "" {
		return nil, ErrUnknownKind
	}
	impl, err := hostside.Bind(rpc, base, info.Kind)
	if err != nil {
		return nil, err
	}
	p := &Client{base: base, Info: info}
	switch info.Kind {
	case sdk.KindTransport:
		p.Transport = impl.(sdk.Transport)
	case sdk.KindLLM:
		p.LLM = impl.(sdk.LLM)
	case sdk.KindBackup:
		p.Backup = impl.(sdk.Backup)
	case sdk.KindHub:
		p.Hub = impl.(sdk.Hub)
	}
	return p, nil
}

// DiagnosticsError turns Configure diagnostics into an error of joined
// *sdk.ConfigError values (nil when there are no errors).
func DiagnosticsError(diags []*basev1.Diagnostic) error { return hostside.DiagnosticsError(diags) }
