package wire

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	llmv1 "github.com/dpc-go/dpc/proto/dpc/llm/v1"
)

// APIVersion is the plugin API major both sides speak (sdk.APIVersion).
const APIVersion = 1

// Handshake is the go-plugin handshake. The cookie is a UX check (it stops a
// user from running a plugin binary by hand), not a security measure; never
// change it, or every existing plugin stops loading.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  APIVersion,
	MagicCookieKey:   "DPC_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "dpc-plugin-v1-7f3c1e9a",
}

// NameBase is the name the Base service is dispensed under; each kind's
// service is dispensed under the kind's name.
const NameBase = "base"

// FrameSize is the largest data frame sent across the plugin boundary. It
// keeps a frame (plus its few bytes of protobuf framing) inside gRPC's 32 KiB
// buffer class: one byte more and gRPC takes, and zeroes, a 1 MiB buffer for
// every message, which costs more than the copy itself.
const FrameSize = 32<<10 - 64

// MaxMessageSize raises gRPC's 4 MiB default so large frames and objects
// never hit it (data frames are 64 KiB; this is headroom for metadata).
const MaxMessageSize = 16 << 20

// Flow-control windows of the plugin connection (both sides use the same).
const (
	StreamWindow = 4 << 20
	ConnWindow   = 16 << 20
)

// ServerOptions adds the plugin connection's sizes to go-plugin's options.
func ServerOptions(o []grpc.ServerOption) []grpc.ServerOption {
	return append(o, grpc.MaxRecvMsgSize(MaxMessageSize), grpc.MaxSendMsgSize(MaxMessageSize),
		// Byte streams need more than gRPC's 64 KiB default window, or every
		// frame waits for a window update from the other side.
		grpc.InitialWindowSize(StreamWindow), grpc.InitialConnWindowSize(ConnWindow))
}

// ServerSet returns the plugin-side set for impl (an sdk.Plugin of one
// kind), logging to logger. Package sdk sets it when it is initialised, so
// that the host side (sdktest's in-process harness) can serve a plugin
// without sdk exporting go-plugin types to plugin authors.
var ServerSet func(impl any, logger hclog.Logger) (plugin.PluginSet, error)

// UnixMs is t in Unix milliseconds, 0 for the zero time.
func UnixMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromUnixMs is the inverse of UnixMs.
func FromUnixMs(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// RoleToProto maps an sdk.Role to its wire value.
var RoleToProto = map[string]llmv1.Message_Role{
	"system": llmv1.Message_ROLE_SYSTEM, "user": llmv1.Message_ROLE_USER, "assistant": llmv1.Message_ROLE_ASSISTANT,
}

// Server is a go-plugin plugin that only serves (the plugin side):
// Register adds its service to the plugin's gRPC server.
type Server struct {
	plugin.NetRPCUnsupportedPlugin
	Register func(*plugin.GRPCBroker, *grpc.Server)
}

// GRPCServer registers the service.
func (p *Server) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	p.Register(broker, s)
	return nil
}

// GRPCClient refuses: dispensing is the host's side.
func (p *Server) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errServeOnly
}

// Dispenser is a go-plugin plugin that only dispenses (the host side):
// NewClient makes the client of its service.
type Dispenser struct {
	plugin.NetRPCUnsupportedPlugin
	NewClient func(*plugin.GRPCBroker, *grpc.ClientConn) any
}

// GRPCServer refuses: serving is the plugin's side (sdk.Serve).
func (p *Dispenser) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return errDispenseOnly }

// GRPCClient makes the client.
func (p *Dispenser) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return p.NewClient(broker, c), nil
}

var (
	errServeOnly    = errors.New("dpc plugin sets of sdk.Serve serve only; hosts dispense with sdk/pluginhost")
	errDispenseOnly = errors.New("dpc plugin sets of the host dispense only; plugins serve with sdk.Serve")
)
