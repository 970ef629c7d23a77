package sdk

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	backupv1 "github.com/dpc-go/dpc/proto/dpc/backup/v1"
	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
	hubv1 "github.com/dpc-go/dpc/proto/dpc/hub/v1"
	llmv1 "github.com/dpc-go/dpc/proto/dpc/llm/v1"
	transportv1 "github.com/dpc-go/dpc/proto/dpc/transport/v1"
	"github.com/dpc-go/dpc/sdk/internal/wire"
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

// parentCheckInterval is how often a plugin checks that its host is alive.
const parentCheckInterval = time.Second

func init() {
	// The host side (sdktest's in-process harness, through sdk/pluginhost)
	// serves a plugin exactly as Serve does, without sdk exporting go-plugin
	// types to plugin authors.
	wire.ServerSet = func(impl any, logger hclog.Logger) (plugin.PluginSet, error) {
		p, _ := impl.(Plugin)
		kind := KindOf(p)
		if kind == "" {
			return nil, fmt.Errorf("%w: %T implements no single plugin kind", ErrInvalidServeOpts, impl)
		}
		return serverSet(kind, p, logger), nil
	}
}

// Serve runs the plugin until the host stops it. It never returns normally;
// misconfigured options are reported on stderr with exit status 1.
//
// The host starts a plugin without arguments. Run by hand with --version
// (or -version), a plugin prints its name, version, plugin API and SDK
// version and exits; any other argument is an error.
func Serve(opts *ServeOpts) {
	kind, impl, err := opts.pick()
	if err != nil {
		fmt.Fprintf(os.Stderr, "dpc plugin: %v\n", err)
		os.Exit(1)
	}
	if code, done := answerArgs(impl.Info(), os.Args[1:], os.Stdout, os.Stderr); done {
		os.Exit(code)
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
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{APIVersion: serverSet(kind, impl, logger)},
		GRPCServer: func(o []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(wire.ServerOptions(o)...)
		},
		Logger: logger,
	})
	os.Exit(0)
}

// answerArgs handles a plugin's command line: none means serve (done is
// false); --version prints the version line on stdout; anything else is an
// error on stderr. code is the exit status when done.
func answerArgs(info Info, args []string, stdout, stderr io.Writer) (code int, done bool) {
	switch {
	case len(args) == 0:
		return 0, false
	case len(args) == 1 && (args[0] == "--version" || args[0] == "-version"):
		if _, err := fmt.Fprintln(stdout, versionLine(info)); err != nil {
			fmt.Fprintf(stderr, "dpc-plugin-%s: %v\n", info.Name, err)
			return 1, true
		}
		return 0, true
	default:
		fmt.Fprintf(stderr, "dpc-plugin-%s: unexpected arguments %q: this is a D-PC plugin; dpc starts it (try --version)\n", info.Name, args)
		return 1, true
	}
}

// versionLine is what a plugin prints for --version, e.g.
// "llm-echo 0.1.0 (D-PC plugin API v1, sdk 0.1.0)".
func versionLine(info Info) string {
	return fmt.Sprintf("%s %s (D-PC plugin API v%d, sdk %s)", info.Name, info.Version, APIVersion, SDKVersion)
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

// serverSet is the plugin-side set for impl, which implements the kind's
// interface. Every plugin serves "base" plus its kind.
func serverSet(kind Kind, impl Plugin, logger hclog.Logger) plugin.PluginSet {
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: hclog.Debug})
	}
	set := plugin.PluginSet{wire.NameBase: &wire.Server{Register: func(broker *plugin.GRPCBroker, s *grpc.Server) {
		basev1.RegisterBaseServer(s, &baseServer{impl: impl, kind: kind, broker: broker, logger: logger})
	}}}
	var register func(s *grpc.Server)
	switch kind {
	case KindTransport:
		register = func(s *grpc.Server) {
			transportv1.RegisterTransportServer(s, &transportServer{impl: impl.(Transport), conns: map[string]*pendingConn{}})
		}
	case KindLLM:
		register = func(s *grpc.Server) { llmv1.RegisterLLMServer(s, &llmServer{impl: impl.(LLM)}) }
	case KindBackup:
		register = func(s *grpc.Server) { backupv1.RegisterBackupServer(s, &backupServer{impl: impl.(Backup)}) }
	case KindHub:
		register = func(s *grpc.Server) { hubv1.RegisterHubServer(s, &hubServer{impl: impl.(Hub)}) }
	}
	set[string(kind)] = &wire.Server{Register: func(_ *plugin.GRPCBroker, s *grpc.Server) { register(s) }}
	return set
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
