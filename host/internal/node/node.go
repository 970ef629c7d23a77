package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/config"
	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/files"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/intel"
	"github.com/dpc-go/dpc/host/internal/llm"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/personal"
	"github.com/dpc-go/dpc/host/internal/plugins"
	"github.com/dpc-go/dpc/host/internal/store"
	"github.com/dpc-go/dpc/sdk"
)

// Options configures Run.
type Options struct {
	Home     home.Dir
	Config   *config.Config
	Logger   hclog.Logger
	LogLevel hclog.Level
	Version  string
	// Policy overrides the plugin restart policy (zero: defaults).
	Policy plugins.RestartPolicy
}

// shutdownTimeout bounds the graceful part of a shutdown.
const shutdownTimeout = 10 * time.Second

// Run runs the node until ctx ends.
func Run(ctx context.Context, o Options) error {
	log := o.Logger
	id, err := identity.Load(o.Home.Identity())
	if err != nil {
		return err
	}
	lock, err := config.ReadLock(o.Home.Lock())
	if err != nil {
		return err
	}
	dirs := plugins.SearchDirs(o.Home.Plugins())
	specs, err := plugins.ResolveSpecs(o.Config, lock, plugins.Discover(dirs, log.Named("plugins")), dirs)
	if err != nil {
		return err
	}

	st, err := store.Open(store.Options{Dir: o.Home.DB(), Logger: log.Named("store")})
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing the store", "error", err)
		}
	}()

	mgr := plugins.NewManager(plugins.ManagerOptions{
		Logger: log.Named("plugin"), LogLevel: o.LogLevel, Signer: id, DataDir: o.Home.PluginData(),
		EvalContext: o.Config.EvalContext(), Policy: o.Policy,
		Identity: sdk.HostIdentity{
			NodeID: id.NodeID, PublicKeyPEM: string(id.PublicKeyPEM), CertificatePEM: string(id.CertificatePEM),
			DisplayName: o.Config.Node.Name, EnvelopePublicKey: id.EnvelopeKey.PublicKey().Bytes(),
			EnvelopeBinding: id.EnvelopeBinding,
		},
	})
	if err := mgr.Start(ctx, specs); err != nil {
		return err
	}
	stopCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	}
	defer func() {
		sctx, cancel := stopCtx()
		defer cancel()
		mgr.Stop(sctx)
	}()

	fw, err := firewall.Load(o.Home.Firewall(), log.Named("firewall"))
	if err != nil {
		return err
	}
	pc, err := loadPersonal(o.Home.Personal(), o.Config.Node.Name, log.Named("context"))
	if err != nil {
		return err
	}
	peerStore, err := peers.New(st)
	if err != nil {
		return err
	}
	models := llm.New(mgr, log.Named("llm"))
	net := network.New(network.Options{
		Identity: id, Name: o.Config.Node.Name, Software: "dpc-go/" + o.Version, Logger: log,
		Listen: o.Config.Node.Listen, Transports: transports{mgr}, Peers: peerStore,
		Chat: chat.New(st), Files: files.New(st, o.Home.Files()), Firewall: fw, DPCv1: o.Config.Node.DPCv1,
		Intel: &intel.Responder{Context: pc, Firewall: fw, Contacts: peerStore, Models: models, Log: log.Named("intel")},
	})
	// What a peer may see changes with the context or the firewall; the
	// network tells the peers whose view changed.
	fw.OnChange(net.ContextChanged)
	go fw.Watch(ctx)
	go pc.Watch(ctx, func(string) { net.ContextChanged() })
	if err := net.Start(ctx); err != nil {
		return err
	}
	defer net.Stop()
	asker := &intel.Asker{NodeID: id.NodeID, Name: o.Config.Node.Name, Context: pc, Firewall: fw, Models: models,
		Peers: net, PeerName: peerStore.Name, Log: log.Named("ask")}

	token, err := api.EnsureToken(o.Home.APIToken())
	if err != nil {
		return err
	}
	srv := api.NewServer(api.ServerOptions{
		Listen: o.Config.API.Listen, Token: token, Logger: log.Named("api"), Plugins: mgr, Network: net,
		Asker: asker, Models: models, Context: pc,
		Node: api.NodeInfo{NodeID: id.NodeID, Name: o.Config.Node.Name, Version: o.Version,
			Fingerprint: id.Fingerprint(), Started: time.Now().UTC()},
	})
	addr, err := srv.Start()
	if err != nil {
		return fmt.Errorf("local API on %s: %w (is another dpc running? use --api to pick another address)", o.Config.API.Listen, err)
	}
	if err := api.WriteAddress(o.Home.APIAddress(), addr); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := stopCtx()
		defer cancel()
		_ = srv.Shutdown(sctx)
		if err := os.Remove(o.Home.APIAddress()); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.Warn("removing the API address file", "error", err)
		}
	}()

	log.Info("node running", "node_id", id.NodeID, "api", addr, "plugins", len(specs))
	<-ctx.Done()
	log.Info("shutting down")
	return nil
}

// loadPersonal loads the personal context, writing the default one first
// for a data directory made before personal.json existed.
func loadPersonal(path, name string, log hclog.Logger) (*personal.File, error) {
	f, err := personal.Load(path, log)
	if !errors.Is(err, personal.ErrNoContext) {
		return f, err
	}
	if err := os.WriteFile(path, personal.Default(name, time.Now()), 0o600); err != nil {
		return nil, fmt.Errorf("writing the default personal context: %w", err)
	}
	log.Info("wrote a default personal context", "path", path)
	return personal.Load(path, log)
}

// transports hands the network the transport plugins running right now.
type transports struct{ m *plugins.Manager }

func (t transports) Transports() []sdk.Transport {
	var out []sdk.Transport
	for _, id := range t.m.OfKind(sdk.KindTransport) {
		if pc, ok := t.m.Client(id); ok {
			out = append(out, pc.Transport)
		}
	}
	return out
}
