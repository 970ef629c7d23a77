package sdk

import (
	"context"
	"errors"
	"fmt"
	"time"

	plugin "github.com/hashicorp/go-plugin"

	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
)

// This file is the host side of the plugin protocol, used by the dpc host and
// by sdktest. Plugin authors do not need anything here.

// ErrUnknownKind means a plugin reported a kind this host does not know.
var ErrUnknownKind = errors.New("plugin reported an unknown kind")

// HostPluginSets returns the plugin sets for every API version this host
// side speaks, for go-plugin's ClientConfig.VersionedPlugins.
func HostPluginSets() map[int]plugin.PluginSet { return versionedClientSets() }

// PluginServerSet is the plugin-side set Serve uses for impl; sdktest serves
// it in-process.
func PluginServerSet(impl Plugin) (plugin.PluginSet, error) {
	kind := KindOf(impl)
	if kind == "" {
		return nil, fmt.Errorf("%w: %T implements no single plugin kind", ErrInvalidServeOpts, impl)
	}
	return serverSet(kind, impl, nil), nil
}

// KindOf says which kind impl implements ("" if none, or more than one).
func KindOf(impl Plugin) Kind {
	var kinds []Kind
	if _, ok := impl.(Transport); ok {
		kinds = append(kinds, KindTransport)
	}
	if _, ok := impl.(LLM); ok {
		kinds = append(kinds, KindLLM)
	}
	if _, ok := impl.(Backup); ok {
		kinds = append(kinds, KindBackup)
	}
	if _, ok := impl.(Hub); ok {
		kinds = append(kinds, KindHub)
	}
	if len(kinds) != 1 {
		return ""
	}
	return kinds[0]
}

// PluginClient is a started, fingerprinted plugin as the host sees it.
// Exactly one of the kind fields is set; each implements the same interface
// the plugin's author implemented, over gRPC.
type PluginClient struct {
	Info Info

	Transport Transport
	LLM       LLM
	Backup    Backup
	Hub       Hub

	base *baseClient
}

// Impl returns the plugin behind its kind's interface.
func (p *PluginClient) Impl() Plugin {
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
func (p *PluginClient) ConfigSchema(ctx context.Context) (*basev1.Schema, error) {
	return p.base.ConfigSchema(ctx)
}

// ConfigureRaw configures the plugin with already-validated JSON and returns
// the problems the plugin found as diagnostics (with attribute paths the host
// maps to source positions).
func (p *PluginClient) ConfigureRaw(ctx context.Context, params ConfigureParams) ([]*basev1.Diagnostic, error) {
	return p.base.Configure(ctx, params)
}

// Ping checks that the plugin's own code answers.
func (p *PluginClient) Ping(ctx context.Context) error { return p.base.Ping(ctx) }

// HandleSignal delivers a routed signal to the plugin.
func (p *PluginClient) HandleSignal(ctx context.Context, s Signal) error {
	return p.base.HandleSignal(ctx, s)
}

// Shutdown asks the plugin to release everything before it is stopped.
func (p *PluginClient) Shutdown(ctx context.Context) error { return p.base.Shutdown(ctx) }

// fingerprintTimeout bounds the GetInfo call a freshly started plugin gets.
const fingerprintTimeout = 10 * time.Second

// DispensePlugin fingerprints a started plugin (GetInfo) and binds the
// client for the kind it reports.
func DispensePlugin(ctx context.Context, rpc plugin.ClientProtocol) (*PluginClient, error) {
	raw, err := rpc.Dispense(nameBase)
	if err != nil {
		return nil, fmt.Errorf("dispensing base: %w", err)
	}
	base := raw.(*baseClient)
	ctx, cancel := context.WithTimeout(ctx, fingerprintTimeout)
	defer cancel()
	info, err := base.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("fingerprinting (GetInfo): %w", err)
	}
	if info.Kind == "" {
		return nil, ErrUnknownKind
	}
	kraw, err := rpc.Dispense(string(info.Kind))
	if err != nil {
		return nil, fmt.Errorf("dispensing %s: %w", info.Kind, err)
	}
	p := &PluginClient{base: base, Info: info}
	switch info.Kind {
	case KindTransport:
		p.Transport = newTransportClient(base, kraw)
	case KindLLM:
		p.LLM = newLLMClient(base, kraw)
	case KindBackup:
		p.Backup = newBackupClient(base, kraw)
	case KindHub:
		p.Hub = newHubClient(base, kraw)
	}
	return p, nil
}

// DiagnosticsError turns Configure diagnostics into an error of joined
// *ConfigError values (nil when there are no errors).
func DiagnosticsError(diags []*basev1.Diagnostic) error { return diagnosticsError(diags) }
