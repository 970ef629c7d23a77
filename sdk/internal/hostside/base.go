package hostside

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/internal/wire"
	"github.com/dpc-go/dpc/sdk/schema"
)

var kindFromProto = map[basev1.Kind]sdk.Kind{
	basev1.Kind_KIND_TRANSPORT: sdk.KindTransport,
	basev1.Kind_KIND_LLM:       sdk.KindLLM,
	basev1.Kind_KIND_BACKUP:    sdk.KindBackup,
	basev1.Kind_KIND_HUB:       sdk.KindHub,
}

// Base is the host's handle on a plugin's Base service.
type Base struct {
	c      basev1.BaseClient
	broker *plugin.GRPCBroker

	mu       sync.Mutex
	hostID   uint32
	hostImpl *hostServer
}

// Info fingerprints the plugin.
func (b *Base) Info(ctx context.Context) (sdk.Info, error) {
	r, err := b.c.GetInfo(ctx, &basev1.GetInfoRequest{})
	if err != nil {
		return sdk.Info{}, wire.FromStatus(err)
	}
	info := sdk.Info{
		Name: r.GetName(), Version: r.GetVersion(), Description: r.GetDescription(),
		Capabilities: r.GetCapabilities(), Kind: kindFromProto[r.GetKind()], SDKVersion: r.GetSdkVersion(),
	}
	for _, v := range r.GetApiVersions() {
		info.APIVersions = append(info.APIVersions, int(v))
	}
	return info, nil
}

// ConfigSchema returns the schema of the plugin's config block (nil: none).
func (b *Base) ConfigSchema(ctx context.Context) (*basev1.Schema, error) {
	r, err := b.c.GetConfigSchema(ctx, &basev1.GetConfigSchemaRequest{})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	return r.GetSchema(), nil
}

// ConfigureParams is the host's side of a Configure call.
type ConfigureParams struct {
	ConfigJSON []byte
	Host       sdk.Host
	NodeID     string
	DataDir    string
	APIVersion int
}

// Configure hands the plugin its configuration and starts (once) the host
// callback service on the broker. Problems the plugin found come back as
// diagnostics; err is for failures of the call itself.
func (b *Base) Configure(ctx context.Context, p ConfigureParams) ([]*basev1.Diagnostic, error) {
	var id uint32
	if p.Host != nil {
		id = b.serveHost(p.Host)
	}
	r, err := b.c.Configure(ctx, &basev1.ConfigureRequest{
		ConfigJson: p.ConfigJSON, ApiVersion: uint32(p.APIVersion), HostBrokerId: id,
		NodeId: p.NodeID, DataDir: p.DataDir,
	})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	return r.GetDiagnostics(), nil
}

func (b *Base) serveHost(impl sdk.Host) uint32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.hostImpl != nil {
		b.hostImpl.set(impl)
		return b.hostID
	}
	b.hostImpl = &hostServer{impl: impl}
	b.hostID = b.broker.NextId()
	srv := b.hostImpl
	go b.broker.AcceptAndServe(b.hostID, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(opts...)
		registerHostServer(s, srv)
		return s
	})
	return b.hostID
}

// Ping checks that the plugin's own code answers.
func (b *Base) Ping(ctx context.Context) error {
	_, err := b.c.Ping(ctx, &basev1.PingRequest{})
	return wire.FromStatus(err)
}

// HandleSignal delivers a routed signal to the plugin.
func (b *Base) HandleSignal(ctx context.Context, s sdk.Signal) error {
	_, err := b.c.HandleSignal(ctx, &basev1.HandleSignalRequest{Signal: signalToProto(s)})
	return wire.FromStatus(err)
}

// Shutdown asks the plugin to release everything before it is stopped.
func (b *Base) Shutdown(ctx context.Context) error {
	_, err := b.c.Shutdown(ctx, &basev1.ShutdownRequest{})
	return wire.FromStatus(err)
}

// remotePlugin implements sdk.Plugin over a Base, so that host-side
// kind adapters satisfy the same interfaces the plugin implements.
type remotePlugin struct {
	base *Base
}

func (r remotePlugin) Info() sdk.Info {
	info, _ := r.base.Info(context.Background())
	return info
}

func (r remotePlugin) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	raw, err := configJSON(req.Config)
	if err != nil {
		return err
	}
	apiVersion := req.APIVersion
	if apiVersion == 0 {
		apiVersion = sdk.APIVersion
	}
	diags, err := r.base.Configure(ctx, ConfigureParams{
		ConfigJSON: raw, Host: req.Host, NodeID: req.NodeID, DataDir: req.DataDir, APIVersion: apiVersion,
	})
	if err != nil {
		return err
	}
	return DiagnosticsError(diags)
}

func (r remotePlugin) Shutdown(ctx context.Context) error { return r.base.Shutdown(ctx) }

// Ping forwards the health check (implements Pinger).
func (r remotePlugin) Ping(ctx context.Context) error { return r.base.Ping(ctx) }

// HandleSignal forwards a signal (implements SignalHandler).
func (r remotePlugin) HandleSignal(ctx context.Context, s sdk.Signal) error {
	return r.base.HandleSignal(ctx, s)
}

func configJSON(cfg any) ([]byte, error) {
	switch c := cfg.(type) {
	case nil:
		return []byte("{}"), nil
	case json.RawMessage:
		return c, nil
	case []byte:
		return c, nil
	}
	if reflect.ValueOf(cfg).Kind() != reflect.Pointer {
		return nil, fmt.Errorf("%w: ConfigureRequest.Config must be JSON or a pointer to a config struct, got %T", sdk.ErrInvalidArgument, cfg)
	}
	return schema.Encode(cfg)
}

// DiagnosticsError joins error diagnostics into one error of
// *sdk.ConfigError values (nil if there are none).
func DiagnosticsError(diags []*basev1.Diagnostic) error {
	var errs []error
	for _, d := range diags {
		if d.GetSeverity() == basev1.Diagnostic_SEVERITY_WARNING {
			continue
		}
		errs = append(errs, &sdk.ConfigError{Path: d.GetAttributePath(), Summary: d.GetSummary(), Detail: d.GetDetail()})
	}
	return errors.Join(errs...)
}
