package sdk

import (
	"context"
	"errors"
	"sync"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
	"github.com/dpc-go/dpc/sdk/internal/wire"
	"github.com/dpc-go/dpc/sdk/schema"
)

var kindToProto = map[Kind]basev1.Kind{
	KindTransport: basev1.Kind_KIND_TRANSPORT,
	KindLLM:       basev1.Kind_KIND_LLM,
	KindBackup:    basev1.Kind_KIND_BACKUP,
	KindHub:       basev1.Kind_KIND_HUB,
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
			return nil, wire.ToStatus(err)
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
		return nil, wire.ToStatus(err)
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
	return &basev1.ShutdownResponse{}, wire.ToStatus(err)
}
