package nettest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/channels"
	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/files"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/fixtureplugin"
	"github.com/dpc-go/dpc/host/internal/hubsvc"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/intel"
	"github.com/dpc-go/dpc/host/internal/introductions"
	"github.com/dpc-go/dpc/host/internal/mailbox"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/ping"
	"github.com/dpc-go/dpc/host/internal/plugins"
	"github.com/dpc-go/dpc/host/internal/store"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/pluginhost"
)

// built holds the plugin binaries built so far, by name.
var built struct {
	mu   sync.Mutex
	dir  string
	bins map[string]builtPlugin
}

type builtPlugin struct {
	bin plugins.Binary
	sum string
}

// Cleanup removes the plugin binaries built so far.
func Cleanup() {
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
		built.dir, built.bins = "", nil
	}
}

// PluginBinary builds the first-party plugin plugins/<name> once per test
// binary and returns it with its sha256. It is built from the workspace,
// never imported: host/go.mod does not require the plugin modules.
func PluginBinary(tb testing.TB, name string) (plugins.Binary, string) {
	tb.Helper()
	return packageBinary(tb, name, "github.com/dpc-go/dpc/plugins/"+name)
}

// packageBinary builds the plugin whose main package is pkg, named name,
// once per test binary and returns it with its sha256.
func packageBinary(tb testing.TB, name, pkg string) (plugins.Binary, string) {
	tb.Helper()
	built.mu.Lock()
	defer built.mu.Unlock()
	if b, ok := built.bins[name]; ok {
		return b.bin, b.sum
	}
	if built.dir == "" {
		dir, err := os.MkdirTemp("", "dpc-nettest-")
		if err != nil {
			tb.Fatal(err)
		}
		built.dir, built.bins = dir, map[string]builtPlugin{}
	}
	bin := plugins.Binary{Name: name, Path: filepath.Join(built.dir, plugins.BinaryPrefix+name)}
	out, err := exec.Command("go", "build", "-o", bin.Path, pkg).CombinedOutput()
	if err != nil {
		tb.Fatalf("building plugin %s: %v\n%s", name, err, out)
	}
	sum, err := plugins.FileSHA256(bin.Path)
	if err != nil {
		tb.Fatal(err)
	}
	built.bins[name] = builtPlugin{bin, sum}
	return bin, sum
}

// Launch starts the first-party plugin plugins/<name>, configured with
// configJSON ("" for {}), stopped when the test ends.
func Launch(tb testing.TB, name, configJSON string) *pluginhost.Client {
	tb.Helper()
	bin, sum := PluginBinary(tb, name)
	return launch(tb, bin, sum, configJSON)
}

// FixtureLLM starts the fixture model (fixtureplugin.LLM) as a plugin
// subprocess, stopped when the test ends.
func FixtureLLM(tb testing.TB) sdk.LLM {
	tb.Helper()
	bin, sum := packageBinary(tb, fixtureplugin.LLMName, "github.com/dpc-go/dpc/host/internal/fixtureplugin/cmd/dpc-plugin-fixture-llm")
	return launch(tb, bin, sum, "").LLM
}

// launch starts a built plugin, configured with configJSON ("" for {}),
// stopped when the test ends.
func launch(tb testing.TB, bin plugins.Binary, sum, configJSON string) *pluginhost.Client {
	tb.Helper()
	return launchWithHost(tb, bin, sum, configJSON, nil)
}

// launchWithHost is launch with host as the plugin's Host (nil: none).
func launchWithHost(tb testing.TB, bin plugins.Binary, sum, configJSON string, host sdk.Host) *pluginhost.Client {
	tb.Helper()
	ctx := context.Background()
	inst, err := plugins.Launch(ctx, plugins.LaunchOptions{Binary: bin, SHA256: sum, Logger: hclog.NewNullLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { inst.Stop(context.Background()) })
	if configJSON == "" {
		configJSON = "{}"
	}
	diags, err := inst.Client.ConfigureRaw(ctx, pluginhost.ConfigureParams{ConfigJSON: []byte(configJSON), Host: host, APIVersion: sdk.APIVersion})
	if err == nil {
		err = pluginhost.DiagnosticsError(diags)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return inst.Client
}

// DirectTransport starts a configured transport-direct subprocess, stopped
// when the test ends.
func DirectTransport(tb testing.TB) sdk.Transport {
	tb.Helper()
	return Launch(tb, "transport-direct", "").Transport
}

// transports is network.Transports over one launched plugin.
type transports struct{ t sdk.Transport }

func (p transports) Transports() []sdk.Transport { return []sdk.Transport{p.t} }

// listenWatch is a transport that reports its first successful Listen: the
// network listens in the background, and NewNode waits for this event so
// that a test never dials a node before it accepts connections.
type listenWatch struct {
	sdk.Transport
	once  sync.Once
	bound chan []string // the bound addresses, sent once
	mu    sync.Mutex
	err   error // the last failed Listen, for the failure message
}

func (w *listenWatch) Listen(ctx context.Context, req sdk.ListenRequest) (sdk.Listener, error) {
	ln, err := w.Transport.Listen(ctx, req)
	if err != nil {
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
		return nil, err
	}
	w.once.Do(func() { w.bound <- ln.Addresses() })
	return ln, nil
}

// WaitLimit bounds each wait of this package for an event (a node
// listening, connected, stopped): a safety net far above what a loaded
// machine needs, not a pace.
const WaitLimit = 60 * time.Second

// Node is one node.
type Node struct {
	ID       *identity.Identity
	Name     string
	Port     int // the loopback port it listens on
	Net      *network.Network
	Chat     *chat.Store
	Chats    *chat.Service
	Files    *files.Store
	Xfers    *files.Service
	Intel    *intel.Service
	Ping     *ping.Service
	Channels *channels.Service
	Intros   *introductions.Service
	Peers    *peers.Store
	Firewall *firewall.Engine
	// Mail is the mailbox service; Hub the hub login it uses, nil unless
	// Options.Hub is set.
	Mail *mailbox.Service
	Hub  *hubsvc.Service
}

// URI is the node's dpc:// URI.
func (n *Node) URI() string {
	return fmt.Sprintf("dpc://127.0.0.1:%d?node_id=%s", n.Port, n.ID.NodeID)
}

// Options configure a node.
type Options struct {
	Name string
	// Firewall is the firewall.hcl text; "" means firewall.DefaultFile.
	Firewall string
	// Intel, if set, builds what answers peers' context and compute
	// requests, from the node's parts.
	Intel func(*Node) intel.Answerer
	// KeyType is the node key's type; "" means Ed25519.
	KeyType identity.KeyType
	// DPCv1 lets D-PC Messenger v1 peers connect and be dialed.
	DPCv1 bool
	// Loopback runs the node on an in-process TCP transport instead of
	// the transport-direct plugin.
	Loopback bool
	// Edit, if set, changes the network's options before it is built.
	Edit func(*network.Options)
	// WebRTC, if set, runs the node on the transport-webrtc plugin instead,
	// its signals carried by this hub; the node has no direct address.
	WebRTC *SignalHub
	// StoreDir, if set, keeps the store in that directory instead of in
	// memory, where badger holds every value in the Go heap: for memory
	// figures.
	StoreDir string
	// Hub, if set, is the node's hub: it is logged in to it once started,
	// and its mailbox carries envelopes as a real hub's would.
	Hub *MailHub
	// MailFetchEvery is how often the node fetches its mailbox on its own
	// (zero: the service's default).
	MailFetchEvery time.Duration
}

// NewNode builds a node listening on a free loopback port, started until
// the test ends. Its store is badger in memory: every store write is a
// transaction with SyncWrites, which in memory costs no fsync, so figures
// are those of the network path rather than of the machine's disk.
func NewNode(tb testing.TB, o Options) *Node {
	tb.Helper()
	dir := tb.TempDir()
	id, err := identity.Create(filepath.Join(dir, "identity"), o.KeyType)
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(store.Options{InMemory: o.StoreDir == "", Dir: o.StoreDir})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	ps, err := peers.New(st)
	if err != nil {
		tb.Fatal(err)
	}
	rules := o.Firewall
	if rules == "" {
		rules = firewall.DefaultFile
	}
	fwPath := filepath.Join(dir, "firewall.hcl")
	if err := os.WriteFile(fwPath, []byte(rules), 0o600); err != nil {
		tb.Fatal(err)
	}
	fw, err := firewall.Load(fwPath, nil)
	if err != nil {
		tb.Fatal(err)
	}
	n := &Node{ID: id, Name: o.Name, Chat: chat.New(st), Files: files.New(st, filepath.Join(dir, "files")), Peers: ps, Firewall: fw}
	tr, watch := nodeTransport(tb, o, n)
	listen := []string{"127.0.0.1:0"}
	opts := network.Options{
		Identity: id, Name: o.Name, Software: "dpc-go/nettest", Logger: hclog.NewNullLogger(),
		Listen: listen, Transports: tr, Peers: ps, Firewall: fw,
		// A failed first dial (the other side not listening yet) is retried quickly.
		RedialMin: 50 * time.Millisecond, RedialMax: time.Second, DPCv1: o.DPCv1,
	}
	if o.Edit != nil {
		o.Edit(&opts)
	}
	n.Net = network.New(opts)
	mo := mailbox.Options{Net: n.Net, Store: st, Identity: id, Peers: ps, Logger: opts.Logger, FetchEvery: o.MailFetchEvery}
	if o.Hub != nil {
		n.Hub, err = hubsvc.New(hubsvc.Options{Store: st, Key: id.Signer, Profile: hubsvc.Profile{Name: o.Name}, Logger: opts.Logger,
			Mailbox: func() { n.Mail.Kick() }})
		if err != nil {
			tb.Fatal(err)
		}
		mo.Hub = n.Hub
	}
	n.Mail = mailbox.NewService(mo)
	n.Chats = chat.NewService(chat.ServiceOptions{Net: n.Net, Store: n.Chat, Peers: ps, Logger: opts.Logger})
	n.Xfers = files.NewService(files.ServiceOptions{Net: n.Net, Store: n.Files, Peers: ps, Firewall: fw, Logger: opts.Logger})
	var answer intel.Answerer
	if o.Intel != nil {
		answer = o.Intel(n)
	}
	n.Intel = intel.NewService(intel.ServiceOptions{Net: n.Net, Answerer: answer, Logger: opts.Logger})
	n.Ping = ping.NewService(n.Net)
	if n.Channels, err = channels.NewService(channels.Options{Net: n.Net, Store: st, Identity: id, Name: o.Name, Peers: ps, Logger: opts.Logger,
		Mailbox: n.Mail}); err != nil {
		tb.Fatal(err)
	}
	n.Intros, err = introductions.NewService(introductions.ServiceOptions{Net: n.Net, Store: st, Peers: ps, Identity: id, Firewall: fw, Logger: opts.Logger})
	if err != nil {
		tb.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	// Registered after the plugin's and the store's cleanups, so it runs
	// before them: the sessions end before the plugin and store go away.
	tb.Cleanup(func() {
		cancel()
		done := make(chan struct{})
		go func() { n.Net.Stop(); close(done) }()
		select {
		case <-done:
		case <-time.After(WaitLimit):
			tb.Errorf("Network.Stop of %s did not return within %s", id.NodeID, WaitLimit)
		}
	})
	if err := n.Net.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	if n.Hub != nil {
		// As node.Run: the hub service starts once the network runs.
		n.Hub.Start(ctx, hubPlugins{&mailHubPlugin{h: o.Hub, node: id.NodeID}})
		tb.Cleanup(n.Hub.Stop)
		if _, err := n.Hub.Login(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	if watch == nil {
		return n
	}
	select {
	case addrs := <-watch.bound:
		if o.WebRTC != nil {
			break // listening for offers; no address
		}
		if len(addrs) != 1 {
			tb.Fatalf("node %s listens on %v, want one address", o.Name, addrs)
		}
		_, port, err := net.SplitHostPort(addrs[0])
		if err == nil {
			n.Port, err = strconv.Atoi(port)
		}
		if err != nil {
			tb.Fatalf("node %s listens on %q: %v", o.Name, addrs[0], err)
		}
	case <-time.After(WaitLimit):
		watch.mu.Lock()
		defer watch.mu.Unlock()
		tb.Fatalf("node %s did not listen within %s (last error: %v)", o.Name, WaitLimit, watch.err)
	}
	return n
}

// nodeTransport is n's transport: the in-process loopback (its port known
// at once) or the transport-direct plugin, whose listenWatch reports the
// port it binds.
func nodeTransport(tb testing.TB, o Options, n *Node) (network.Transports, *listenWatch) {
	tb.Helper()
	if o.WebRTC != nil {
		watch := &listenWatch{Transport: o.WebRTC.transport(tb, n.ID.NodeID), bound: make(chan []string, 1)}
		return transports{network.ByNodeID(watch)}, watch
	}
	if o.Loopback {
		// Bound before the node starts: it accepts connections (in the
		// kernel's backlog) from its first moment.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		n.Port = ln.Addr().(*net.TCPAddr).Port
		return loopback{ln: ln}, nil
	}
	// Port 0: the kernel picks a free port as the node binds it, so no
	// other test can take it in between; Port is learned from the listener.
	watch := &listenWatch{Transport: DirectTransport(tb), bound: make(chan []string, 1)}
	return transports{watch}, watch
}

// Connect makes a and b contacts of each other and connects a to b.
func Connect(tb testing.TB, a, b *Node) {
	tb.Helper()
	for _, x := range [][2]*Node{{a, b}, {b, a}} {
		if _, err := x[0].Peers.Update(x[1].ID.NodeID, func(p *peers.Peer) { p.Contact = true }); err != nil {
			tb.Fatal(err)
		}
	}
	// b is listening (NewNode waited for it); each Connect waits for the
	// outcome of a dial attempt, and a failed one (a handshake slowed past
	// its timeout on a loaded machine) is retried until the deadline.
	ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
	defer cancel()
	for {
		target := b.URI()
		if b.Port == 0 {
			target = b.ID.NodeID // a WebRTC node: reached by node_id alone
		}
		st, err := a.Net.Connect(ctx, target, network.ConnectOptions{})
		if err == nil && st.State == "connected" {
			return
		}
		if ctx.Err() != nil {
			tb.Fatalf("%s could not connect to %s at %s: state %q, %v", a.Name, b.Name, b.URI(), st.State, err)
		}
	}
}
