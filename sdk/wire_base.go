package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
	"github.com/dpc-go/dpc/sdk/schema"
)

// SDKVersion is reported by every plugin built with this SDK.
const SDKVersion = "0.1.0"

var kindToProto = map[Kind]basev1.Kind{
	KindTransport: basev1.Kind_KIND_TRANSPORT,
	KindLLM:       basev1.Kind_KIND_LLM,
	KindBackup:    basev1.Kind_KIND_BACKUP,
	KindHub:       basev1.Kind_KIND_HUB,
}

// kindFromProto maps the wire kind to the sdk kind ("" if unknown).
func kindFromProto(k basev1.Kind) Kind {
	for sk, pk := range kindToProto {
		if pk == k {
			return sk
		}
	}
	return ""
}

// basePlugin serves and dispenses the Base service.
type basePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl   Plugin
	Kind   Kind
	Logger hclog.Logger
}

// GRPCServer registers the Base service (plugin side).
func (p *basePlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	basev1.RegisterBaseServer(s, &baseServer{impl: p.Impl, kind: p.Kind, broker: broker, logger: p.Logger})
	return nil
}

// GRPCClient returns a *baseClient (host side).
func (p *basePlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &baseClient{c: basev1.NewBaseClient(c), broker: broker}, nil
}

type baseServer struct {
	basev1.UnimplementedBaseServer
	impl   Plugin
	kind   Kind
	broker *plugin.GRPCBroker
	logger hclog.Logger

	mu       sync.Mutex
	hostConn *grpc.ClientConn
	hostID   uint32
}

func (s *baseServer) GetInfo(context.Context, *basev1.GetInfoRequest) (*basev1.GetInfoResponse, error) {
	info := s.impl.Info()
	return &basev1.GetInfoResponse{
		Kind: kindToProto[s.kind], Name: info.Name, Version: info.Version,
		ApiVersions: []uint32{APIVersion}, Description: info.Description,
		Capabilities: info.Capabilities, SdkVersion: SDKVersion,
	}, nil
}

func (s *baseServer) GetConfigSchema(context.Context, *basev1.GetConfigSchemaRequest) (*basev1.GetConfigSchemaResponse, error) {
	c, ok := s.impl.(Configurable)
	if !ok {
		return &basev1.GetConfigSchemaResponse{}, nil
	}
	sch, err := schema.FromStruct(c.DefaultConfig())
	if err != nil {
		return nil, status.Errorf(codes.Internal, "plugin config struct: %v", err)
	}
	return &basev1.GetConfigSchemaResponse{Schema: sch}, nil
}

func (s *baseServer) Configure(ctx context.Context, req *basev1.ConfigureRequest) (*basev1.ConfigureResponse, error) {
	var cfg any
	if c, ok := s.impl.(Configurable); ok {
		cfg = c.DefaultConfig()
		if err := schema.Decode(req.GetConfigJson(), cfg); err != nil {
			return &basev1.ConfigureResponse{Diagnostics: diagnostics(err)}, nil
		}
		if v, ok := cfg.(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				return &basev1.ConfigureResponse{Diagnostics: diagnostics(err)}, nil
			}
		}
	} else if len(req.GetConfigJson()) > 0 && string(req.GetConfigJson()) != "{}" {
		return &basev1.ConfigureResponse{Diagnostics: diagnostics(errors.New("this plugin takes no configuration"))}, nil
	}
	host, err := s.dialHost(req.GetHostBrokerId())
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "connecting to the host callback service: %v", err)
	}
	err = s.impl.Configure(ctx, ConfigureRequest{
		Config: cfg, Host: host, NodeID: req.GetNodeId(), DataDir: req.GetDataDir(),
		APIVersion: int(req.GetApiVersion()), Logger: s.logger,
	})
	return &basev1.ConfigureResponse{Diagnostics: diagnostics(err)}, nil
}

// dialHost connects to the host callback service once per broker id.
func (s *baseServer) dialHost(id uint32) (Host, error) {
	if id == 0 {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hostConn == nil || s.hostID != id {
		conn, err := s.broker.Dial(id)
		if err != nil {
			return nil, err
		}
		if s.hostConn != nil {
			_ = s.hostConn.Close()
		}
		s.hostConn, s.hostID = conn, id
	}
	return newHostClient(s.hostConn), nil
}

func diagnostics(err error) []*basev1.Diagnostic {
	var out []*basev1.Diagnostic
	for _, ce := range ConfigErrors(err) {
		out = append(out, &basev1.Diagnostic{
			Severity: basev1.Diagnostic_SEVERITY_ERROR, Summary: ce.Summary,
			Detail: ce.Detail, AttributePath: ce.Path,
		})
	}
	return out
}

func (s *baseServer) Ping(ctx context.Context, _ *basev1.PingRequest) (*basev1.PingResponse, error) {
	if p, ok := s.impl.(Pinger); ok {
		if err := p.Ping(ctx); err != nil {
			return nil, toStatus(err)
		}
	}
	return &basev1.PingResponse{}, nil
}

func (s *baseServer) HandleSignal(ctx context.Context, req *basev1.HandleSignalRequest) (*basev1.HandleSignalResponse, error) {
	h, ok := s.impl.(SignalHandler)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this plugin takes no signals")
	}
	if err := h.HandleSignal(ctx, signalFromProto(req.GetSignal())); err != nil {
		return nil, toStatus(err)
	}
	return &basev1.HandleSignalResponse{}, nil
}

func (s *baseServer) Shutdown(ctx context.Context, _ *basev1.ShutdownRequest) (*basev1.ShutdownResponse, error) {
	err := s.impl.Shutdown(ctx)
	s.mu.Lock()
	if s.hostConn != nil {
		_ = s.hostConn.Close()
		s.hostConn = nil
	}
	s.mu.Unlock()
	return &basev1.ShutdownResponse{}, toStatus(err)
}

func signalFromProto(s *basev1.Signal) Signal {
	return Signal{From: s.GetFrom(), To: s.GetTo(), Type: s.GetType(), Payload: s.GetPayload(), PeerNodeID: s.GetPeerNodeId()}
}

func signalToProto(s Signal) *basev1.Signal {
	return &basev1.Signal{From: s.From, To: s.To, Type: s.Type, Payload: s.Payload, PeerNodeId: s.PeerNodeID}
}

// baseClient is the host's handle on a plugin's Base service.
type baseClient struct {
	c      basev1.BaseClient
	broker *plugin.GRPCBroker

	mu       sync.Mutex
	hostID   uint32
	hostImpl *hostServer
}

// Info fingerprints the plugin.
func (b *baseClient) Info(ctx context.Context) (Info, error) {
	r, err := b.c.GetInfo(ctx, &basev1.GetInfoRequest{})
	if err != nil {
		return Info{}, fromStatus(err)
	}
	info := Info{
		Name: r.GetName(), Version: r.GetVersion(), Description: r.GetDescription(),
		Capabilities: r.GetCapabilities(), Kind: kindFromProto(r.GetKind()), SDKVersion: r.GetSdkVersion(),
	}
	for _, v := range r.GetApiVersions() {
		info.APIVersions = append(info.APIVersions, int(v))
	}
	return info, nil
}

// ConfigSchema returns the schema of the plugin's config block (nil: none).
func (b *baseClient) ConfigSchema(ctx context.Context) (*basev1.Schema, error) {
	r, err := b.c.GetConfigSchema(ctx, &basev1.GetConfigSchemaRequest{})
	if err != nil {
		return nil, fromStatus(err)
	}
	return r.GetSchema(), nil
}

// ConfigureParams is the host's side of a Configure call.
type ConfigureParams struct {
	ConfigJSON []byte
	Host       Host
	NodeID     string
	DataDir    string
	APIVersion int
}

// Configure hands the plugin its configuration and starts (once) the host
// callback service on the broker. Problems the plugin found come back as
// diagnostics; err is for failures of the call itself.
func (b *baseClient) Configure(ctx context.Context, p ConfigureParams) ([]*basev1.Diagnostic, error) {
	var id uint32
	if p.Host != nil {
		id = b.serveHost(p.Host)
	}
	r, err := b.c.Configure(ctx, &basev1.ConfigureRequest{
		ConfigJson: p.ConfigJSON, ApiVersion: uint32(p.APIVersion), HostBrokerId: id,
		NodeId: p.NodeID, DataDir: p.DataDir,
	})
	if err != nil {
		return nil, fromStatus(err)
	}
	return r.GetDiagnostics(), nil
}

func (b *baseClient) serveHost(impl Host) uint32 {
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
func (b *baseClient) Ping(ctx context.Context) error {
	_, err := b.c.Ping(ctx, &basev1.PingRequest{})
	return fromStatus(err)
}

// HandleSignal delivers a routed signal to the plugin.
func (b *baseClient) HandleSignal(ctx context.Context, s Signal) error {
	_, err := b.c.HandleSignal(ctx, &basev1.HandleSignalRequest{Signal: signalToProto(s)})
	return fromStatus(err)
}

// Shutdown asks the plugin to release everything before it is stopped.
func (b *baseClient) Shutdown(ctx context.Context) error {
	_, err := b.c.Shutdown(ctx, &basev1.ShutdownRequest{})
	return fromStatus(err)
}

// remotePlugin implements Plugin over a baseClient, so that host-side
// kind adapters satisfy the same interfaces the plugin implements.
type remotePlugin struct {
	base *baseClient
}

func (r remotePlugin) Info() Info {
	info, _ := r.base.Info(context.Background())
	return info
}

func (r remotePlugin) Configure(ctx context.Context, req ConfigureRequest) error {
	raw, err := configJSON(req.Config)
	if err != nil {
		return err
	}
	apiVersion := req.APIVersion
	if apiVersion == 0 {
		apiVersion = APIVersion
	}
	diags, err := r.base.Configure(ctx, ConfigureParams{
		ConfigJSON: raw, Host: req.Host, NodeID: req.NodeID, DataDir: req.DataDir, APIVersion: apiVersion,
	})
	if err != nil {
		return err
	}
	return diagnosticsError(diags)
}

func (r remotePlugin) Shutdown(ctx context.Context) error { return r.base.Shutdown(ctx) }

// Ping forwards the health check (implements Pinger).
func (r remotePlugin) Ping(ctx context.Context) error { return r.base.Ping(ctx) }

// HandleSignal forwards a signal (implements SignalHandler).
func (r remotePlugin) HandleSignal(ctx context.Context, s Signal) error {
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
		return nil, fmt.Errorf("%w: ConfigureRequest.Config must be JSON or a pointer to a config struct, got %T", ErrInvalidArgument, cfg)
	}
	return schema.Encode(cfg)
}

// diagnosticsError joins error diagnostics into one error of
// *ConfigError values (nil if there are none).
func diagnosticsError(diags []*basev1.Diagnostic) error {
	var errs []error
	for _, d := range diags {
		if d.GetSeverity() == basev1.Diagnostic_SEVERITY_WARNING {
			continue
		}
		errs = append(errs, &ConfigError{Path: d.GetAttributePath(), Summary: d.GetSummary(), Detail: d.GetDetail()})
	}
	return errors.Join(errs...)
}
