package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/config"
	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/backup"
	"github.com/dpc-go/dpc/host/internal/channels"
	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/files"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/hubsvc"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/intel"
	"github.com/dpc-go/dpc/host/internal/introductions"
	"github.com/dpc-go/dpc/host/internal/llm"
	"github.com/dpc-go/dpc/host/internal/mailbox"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/personal"
	"github.com/dpc-go/dpc/host/internal/ping"
	"github.com/dpc-go/dpc/host/internal/plugins"
	"github.com/dpc-go/dpc/host/internal/store"
	"github.com/dpc-go/dpc/host/internal/webui"
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
	LimitMemory()
	// Returning early with an error must end everything started with ctx.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
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
	// Bind the local API before anything starts, so a taken address (or a
	// node already running here) fails at once.
	lns, err := api.Listen(o.Config.API.Listen, o.Home.APISocket())
	if err != nil {
		return err
	}
	defer lns.Close()
	// A fresh token at every start: a token seen by anyone before is
	// worthless now.
	token, err := api.NewToken(o.Home.APIToken())
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

	// The hub service keeps the hub plugin's sessions, so it exists before
	// the plugins start; the node's URIs are known once the network is.
	var uris func() []string
	var redial, mailKick func()
	// The event bus exists before the plugins and the hub service, so that
	// their status changes reach the event stream (the web UI follows it).
	bus := network.NewBus()
	hubs, err := hubsvc.New(hubsvc.Options{Store: st, Key: id.Signer, Profile: hubProfile(o.Config), Logger: log,
		URIs: func() []string { return uris() }, Online: func() { redial() }, Mailbox: func() { mailKick() },
		Changed: func(s hubsvc.State) { bus.Publish(network.Event{Type: "hub", Data: s}) }})
	if err != nil {
		return err
	}
	mgr := plugins.NewManager(plugins.ManagerOptions{
		HubSessions: hubs, OnEvent: hubs.OnEvent, Hub: hubs, OnStatus: func(s plugins.Status) { bus.Publish(network.Event{Type: "plugin", Data: s}) },
		Logger: log.Named("plugin"), LogLevel: o.LogLevel, Signer: id, DataDir: o.Home.PluginData(), ExecDir: o.Home.PluginExec(),
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
	firstListen := newListenWait(transports{mgr}.Transports())
	net := network.New(network.Options{
		Identity: id, Name: o.Config.Node.Name, Software: "dpc-go/" + o.Version, Logger: log,
		Listen: o.Config.Node.Listen, Transports: transports{mgr}, Peers: peerStore,
		Firewall: fw, DPCv1: o.Config.Node.DPCv1, Bus: bus,
		Listened:  firstListen.report,
		Directory: hubs,
	})
	redial = net.Redial
	mail := mailbox.NewService(mailbox.Options{Net: net, Store: st, Identity: id, Peers: peerStore, Hub: hubs, Logger: log})
	mailKick = mail.Kick
	chats := chat.NewService(chat.ServiceOptions{Net: net, Store: chat.New(st), Peers: peerStore, Logger: log})
	transfers := files.NewService(files.ServiceOptions{Net: net, Store: files.New(st, o.Home.Files()), Peers: peerStore, Firewall: fw, Logger: log})
	pings := ping.NewService(net)
	chans, err := channels.NewService(channels.Options{Net: net, Store: st, Identity: id, Name: o.Config.Node.Name, Peers: peerStore, Logger: log,
		Mailbox: mail})
	if err != nil {
		return err
	}
	intros, err := introductions.NewService(introductions.ServiceOptions{Net: net, Store: st, Peers: peerStore, Identity: id, Firewall: fw, Logger: log})
	if err != nil {
		return err
	}
	uris = func() []string { return network.ListeningURIs(net.Listening(), id.NodeID) }
	responder := &intel.Responder{Context: pc, Firewall: fw, Contacts: peerStore, Models: models, Log: log.Named("intel")}
	intels := intel.NewService(intel.ServiceOptions{Net: net, Logger: log, Answerer: responder})
	// What a peer may see changes with the context or the firewall; the
	// intel service tells the peers whose view changed.
	fw.OnChange(intels.ContextChanged)
	go fw.Watch(ctx)
	go pc.Watch(ctx, func(string) { intels.ContextChanged() })
	if err := net.Start(ctx); err != nil {
		return err
	}
	defer func() {
		cancel() // Stop needs the network's ctx done
		net.Stop()
	}()
	// The hub service starts once the network it reports to runs.
	hubs.Start(ctx, mgr)
	defer hubs.Stop()
	if err := firstListen.wait(ctx); errors.Is(err, errListenSlow) {
		log.Warn("a transport has not reported listening yet; starting anyway", "waited", listenStartTimeout)
	} else if err != nil {
		return fmt.Errorf("cannot listen for peers on %s: %w (is another dpc or program using it? --listen or node.listen in dpc.hcl picks another address)",
			listenList(o.Config.Node.Listen), err)
	}
	asker := &intel.Asker{NodeID: id.NodeID, Name: o.Config.Node.Name, Context: pc, Firewall: fw, Models: models,
		Peers: intels, PeerName: peerStore.Name, Log: log.Named("ask")}

	backups := backup.NewService(backup.ServiceOptions{
		Source: backup.Source{Home: o.Home, DB: st.DB(), NodeID: id.NodeID, Version: o.Version},
		Plugin: backupPlugin{mgr}.get, Logger: log,
		Publish: func(p backup.Progress) { net.Bus().Publish(network.Event{Type: "backup", Data: p}) },
	})
	// Stopped before the store closes: a backup reads it.
	defer backups.Close()

	srv, err := api.NewServer(api.ServerOptions{
		Listeners: lns, Token: token, Logger: log.Named("api"), Plugins: mgr, Listening: net.Listening,
		Routes: []api.Routes{
			api.PeerRoutes(net), api.StreamRoutes(net.Bus(), log.Named("api")), api.FirewallRoutes(fw, net.Check),
			api.ChatRoutes(chats), api.FileRoutes(transfers, o.Home.String()),
			api.IntelRoutes(asker, models, log.Named("api")), api.ContextRoutes(pc),
			api.PingRoutes(pings), api.HubRoutes(hubs), api.ChannelRoutes(chans), api.IntroductionRoutes(intros),
			api.BackupRoutes(backups),
			api.ContextFileRoutes(pc), api.FirewallEditRoutes(fw, responder),
		},
		Node: api.NodeInfo{NodeID: id.NodeID, Name: o.Config.Node.Name, Version: o.Version,
			Fingerprint: id.Fingerprint(), Started: time.Now().UTC()},
		UI: webui.Handler(),
	})
	if err != nil {
		return err
	}
	srv.Start()
	defer func() {
		sctx, cancel := stopCtx()
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	log.Info("node running", "node_id", id.NodeID, "api", lns.TCPAddr(), "api_socket", o.Home.APISocket(), "plugins", len(specs))
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
		pc, ok := t.m.Client(id)
		switch {
		case !ok:
		case slices.Contains(pc.Info.Capabilities, sdk.CapabilityDialByNodeID):
			out = append(out, network.ByNodeID(pc.Transport))
		default:
			out = append(out, pc.Transport)
		}
	}
	return out
}

// backupPlugin hands the backup service the first backup plugin running
// right now.
type backupPlugin struct{ m *plugins.Manager }

func (b backupPlugin) get() (sdk.Backup, error) {
	ids := b.m.OfKind(sdk.KindBackup)
	for _, id := range ids {
		if pc, ok := b.m.Client(id); ok {
			return pc.Backup, nil
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: none is configured; add a plugin \"backup\" block to dpc.hcl (dpc init writes one for backup-file)", backup.ErrNoPlugin)
	}
	return nil, fmt.Errorf("%w: %s is not running (dpc plugin status says why)", backup.ErrNoPlugin, strings.Join(ids, ", "))
}

// listenStartTimeout bounds how long a start waits for the transports'
// first Listen; a transport that never answers is left to its supervisor.
const listenStartTimeout = 30 * time.Second

// errListenSlow means a transport did not report its first Listen within
// listenStartTimeout.
var errListenSlow = errors.New("a transport did not report listening in time")

// listenWait collects the first Listen result of each transport running at
// start, so `dpc run` fails at once when one cannot listen.
type listenWait struct {
	mu      sync.Mutex
	pending map[sdk.Transport]bool
	err     error
	done    chan struct{}
}

func newListenWait(trs []sdk.Transport) *listenWait {
	w := &listenWait{pending: map[sdk.Transport]bool{}, done: make(chan struct{})}
	for _, tr := range trs {
		w.pending[tr] = true
	}
	if len(trs) == 0 {
		close(w.done)
	}
	return w
}

// report takes one Listen result; later ones (after a restart) are ignored.
func (w *listenWait) report(tr sdk.Transport, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.pending[tr] {
		return
	}
	delete(w.pending, tr)
	if err != nil && w.err == nil {
		w.err = err
	}
	if len(w.pending) == 0 || err != nil {
		w.pending = nil
		close(w.done)
	}
}

// wait returns the first failure, nil once every transport listens or ctx
// ends, or errListenSlow when a transport takes too long.
func (w *listenWait) wait(ctx context.Context) error {
	t := time.NewTimer(listenStartTimeout)
	defer t.Stop()
	select {
	case <-w.done:
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.err
	case <-ctx.Done():
		return nil
	case <-t.C:
		return errListenSlow
	}
}

// listenList names the configured listen addresses for a message.
func listenList(addrs []string) string {
	if len(addrs) == 0 {
		return "the transports' default addresses"
	}
	return strings.Join(addrs, ", ")
}

// hubProfile is what dpc.hcl's profile block says to publish on a hub;
// the name defaults to the node's display name.
func hubProfile(c *config.Config) hubsvc.Profile {
	p := c.Profile
	if p.Name == "" {
		p.Name = c.Node.Name
	}
	return hubsvc.Profile{Name: p.Name, Description: p.Description, Expertise: p.Expertise, PublishURIs: p.PublishURIs}
}
