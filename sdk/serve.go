package sdk

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ServeOpts configures Serve. Set exactly one of the kind fields.
type ServeOpts struct {
	Transport Transport
	LLM       LLM
	Backup    Backup
	Hub       Hub

	// Logger defaults to JSON on stderr, which the host shows under the
	// plugin's name. The level comes from DPC_PLUGIN_LOG_LEVEL (default info).
	Logger hclog.Logger
}

// maxMessageSize raises gRPC's 4 MiB default so large frames and objects
// never hit it (data frames are 64 KiB; this is headroom for metadata).
const maxMessageSize = 16 << 20

// Flow-control windows of the plugin connection (the host uses the same).
const (
	streamWindow = 4 << 20
	connWindow   = 16 << 20
)

// parentCheckInterval is how often a plugin checks that its host is alive.
const parentCheckInterval = time.Second

// Serve runs the plugin until the host stops it. It never returns normally;
// misconfigured options are reported on stderr with exit status 1.
func Serve(opts *ServeOpts) {
	kind, impl, err := opts.pick()
	if err != nil {
		fmt.Fprintf(os.Stderr, "dpc plugin: %v\n", err)
		os.Exit(1)
	}
	logger := opts.Logger
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{
			Level:      hclog.LevelFromString(os.Getenv("DPC_PLUGIN_LOG_LEVEL")),
			Output:     os.Stderr,
			JSONFormat: true,
		})
	}
	go exitWhenOrphaned(impl, logger)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{APIVersion: serverSet(kind, impl, logger)},
		GRPCServer: func(o []grpc.ServerOption) *grpc.Server {
			o = append(o, grpc.MaxRecvMsgSize(maxMessageSize), grpc.MaxSendMsgSize(maxMessageSize),
				// Byte streams need more than gRPC's 64 KiB default window,
				// or every frame waits for a window update from the host.
				grpc.InitialWindowSize(streamWindow), grpc.InitialConnWindowSize(connWindow))
			return grpc.NewServer(o...)
		},
		Logger: logger,
	})
	os.Exit(0)
}

func (o *ServeOpts) pick() (Kind, Plugin, error) {
	if o == nil {
		return "", nil, fmt.Errorf("%w: nil", ErrInvalidServeOpts)
	}
	var kinds []Kind
	var impl Plugin
	if o.Transport != nil {
		kinds, impl = append(kinds, KindTransport), o.Transport
	}
	if o.LLM != nil {
		kinds, impl = append(kinds, KindLLM), o.LLM
	}
	if o.Backup != nil {
		kinds, impl = append(kinds, KindBackup), o.Backup
	}
	if o.Hub != nil {
		kinds, impl = append(kinds, KindHub), o.Hub
	}
	if len(kinds) != 1 {
		return "", nil, fmt.Errorf("%w: set exactly one of Transport, LLM, Backup, Hub (got %d)", ErrInvalidServeOpts, len(kinds))
	}
	return kinds[0], impl, nil
}

// exitWhenOrphaned stops the plugin if its host dies without stopping it
// (e.g. SIGKILL), so no plugin process outlives its host. The host also
// asks the kernel to kill plugins when it dies; this is the second guard.
func exitWhenOrphaned(impl Plugin, logger hclog.Logger) {
	parent := os.Getppid()
	for range time.Tick(parentCheckInterval) {
		if os.Getppid() == parent {
			continue
		}
		logger.Warn("host process is gone; shutting down")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = impl.Shutdown(ctx)
		cancel()
		os.Exit(0)
	}
}
