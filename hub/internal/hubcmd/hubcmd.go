package hubcmd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dpc-go/dpc/hub/internal/auth"
	"github.com/dpc-go/dpc/hub/internal/cluster"
	"github.com/dpc-go/dpc/hub/internal/server"
	"github.com/dpc-go/dpc/hub/internal/store"
	"github.com/dpc-go/dpc/hub/internal/store/badgerstore"
	"github.com/dpc-go/dpc/hub/internal/store/pgstore"
	"github.com/dpc-go/dpc/hub/internal/turnserver"
	"github.com/dpc-go/dpc/sdk/hublogin"
)

// Version is the dpc-hub version.
const Version = "0.1.0"

// ErrBadFlags is wrapped by every error about the command line.
var ErrBadFlags = errors.New("invalid flags")

// secretFile is the token secret's name inside the data dir.
const secretFile = "token.secret"

// turnSecretFile is the TURN credential secret's name inside the data dir.
const turnSecretFile = "turn.secret"

type options struct {
	listen, data, publicURL string
	tlsCert, tlsKey         string
	secretFile              string
	accessTTL, refreshTTL   time.Duration
	limits                  server.Limits
	maxSignalBytes          int64
	sendQueue               int
	maxConns                int
	logLevel                string
	logJSON                 bool
	postgres                string
	acceptSecretFiles       []string
	reconnectSpread         time.Duration

	turn                     bool
	turnListen, turnPublicIP string
	turnRealm, turnSecret    string
	turnTTL                  time.Duration
	turnQuota                int64
	turnMaxAllocs            int
	turnRelayPorts           string
	// turnFlagsSet names the --turn-* flags given (they need --turn).
	turnFlagsSet []string

	oauthOptions
}

// NewRoot builds the dpc-hub command.
func NewRoot() *cobra.Command {
	o := &options{limits: server.DefaultLimits}
	cmd := &cobra.Command{
		Use:   "dpc-hub",
		Short: "D-PC federation hub: key login, discovery, presence, signaling",
		Long: `dpc-hub runs a D-PC federation hub. Nodes log in with their node key (no
account), publish a profile, find each other and exchange WebRTC signaling
through it. The hub never sees a message and cannot impersonate a node:
peers verify each other end to end.

One binary and a data dir is a complete hub:

  dpc-hub --listen 127.0.0.1:8000 --data /var/lib/dpc-hub

Behind a reverse proxy or on a public name, set --public-url to the URL
nodes use (it is the audience every login signature and token is bound
to, so it must match what nodes have in their dpc.hcl). Serve TLS yourself
with --tls-cert/--tls-key, or terminate it in the proxy.

The data dir holds the store (badger) and token.secret, the key that signs
access tokens (created on first start, mode 0600; keep it secret: whoever
holds it can mint tokens). The HTTP API is described in hub/API.md;
Prometheus metrics are at /metrics, liveness at /health.

With --postgres instead of --data, the hub keeps its state and keys
(token and TURN) in a PostgreSQL database, and several dpc-hub replicas
can share it behind a load balancer: signaling, presence and logouts
reach every replica. Give them all the same --public-url;
hub/OPERATING.md tells how to run them, back them up and rotate keys
(dpc-hub rotate-token-key):

  dpc-hub --listen 127.0.0.1:8001 --public-url https://hub.example.org \
    --postgres postgres://dpc@db/dpchub

With --oauth-config FILE nodes may link accounts of identity providers
(GitHub, Google, any OpenID Connect provider) to their node_id, and with
--require-oauth they must before using the hub; a node still logs in with
its key (hub/API.md, "Accounts"; an example in hub/examples/oauth.hcl).

With --turn the hub also runs a TURN server (UDP) that relays WebRTC
traffic for nodes whose direct paths fail. Logged-in nodes get short-lived
credentials from GET /ice-servers (signed with DATA/turn.secret, or the
cluster's TURN key with --postgres); each node
may relay --turn-quota bytes per UTC day. Relays are advertised at
--turn-public-ip: by default the --turn-listen IP, else the IP of
--public-url; a hub listening on every interface behind a name must set it:

  dpc-hub --listen 127.0.0.1:8000 --public-url https://hub.example.org \
    --turn --turn-public-ip 203.0.113.5 --turn-relay-ports 49152-65535`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.Flags().Visit(func(f *pflag.Flag) {
				if strings.HasPrefix(f.Name, "turn-") {
					o.turnFlagsSet = append(o.turnFlagsSet, "--"+f.Name)
				}
			})
			return run(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8000", "address to listen on, host:port (port 0 picks a free one)")
	f.StringVar(&o.data, "data", "", "data directory: the embedded store and token secret, created mode 0700 (required unless --postgres)")
	f.StringVar(&o.publicURL, "public-url", "", "URL nodes reach this hub at, the audience of logins and tokens (default http(s)://LISTEN)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate chain PEM file (with --tls-key): serve HTTPS and WSS")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS private key PEM file (with --tls-cert)")
	f.StringVar(&o.secretFile, "token-secret-file", "", "file holding the token signing secret, base64 of at least 32 bytes (default DATA/"+secretFile+", created if missing)")
	f.StringArrayVar(&o.acceptSecretFiles, "token-accept-secret-file", nil, "file holding a further token secret whose tokens are accepted but never signed with (repeatable): the old key while a new one rolls out, see hub/OPERATING.md")
	f.StringVar(&o.postgres, "postgres", "", "PostgreSQL URL to keep the hub's state in instead of DATA/db, e.g. postgres://dpc@db.example.org/dpchub; replicas sharing it act as one hub (the password is best given in PGPASSWORD or ~/.pgpass)")
	f.DurationVar(&o.reconnectSpread, "reconnect-spread", 5*time.Second, "at shutdown, connected nodes are told to reconnect within a random wait of at most this long, so that they do not all come back at once")
	f.DurationVar(&o.accessTTL, "access-ttl", auth.DefaultAccessTTL, "lifetime of access tokens (and of a signaling socket opened with one)")
	f.DurationVar(&o.refreshTTL, "refresh-ttl", auth.DefaultRefreshTTL, "lifetime of a refresh token (each refresh issues a new one)")
	f.IntVar(&o.limits.LoginPerMinute, "rate-login", o.limits.LoginPerMinute, "login, challenge and refresh requests per minute per client IP (0 = unlimited)")
	f.IntVar(&o.limits.APIPerMinute, "rate-api", o.limits.APIPerMinute, "authenticated requests per minute per node (0 = unlimited)")
	f.IntVar(&o.limits.IPPerMinute, "rate-ip", o.limits.IPPerMinute, "requests per minute per client IP, all routes but /health and /metrics (0 = unlimited)")
	f.IntVar(&o.limits.SignalsPerSecond, "rate-signal", o.limits.SignalsPerSecond, "signaling messages per second per connection (0 = unlimited)")
	f.IntVar(&o.limits.MailboxPutsPerMinute, "rate-mailbox", o.limits.MailboxPutsPerMinute, "mailbox envelopes a node may send per minute, to any recipients (0 = unlimited)")
	f.Int64Var(&o.maxSignalBytes, "max-signal-bytes", 64<<10, "largest signaling message accepted, in bytes")
	f.IntVar(&o.sendQueue, "send-queue", 64, "messages queued for one connection before it is dropped as too slow")
	f.IntVar(&o.maxConns, "max-connections", 50_000, "signaling connections this hub holds at most (raise the open files limit to match)")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: trace, debug, info, warn, error")
	f.BoolVar(&o.logJSON, "log-json", false, "log JSON lines instead of text")
	f.BoolVar(&o.turn, "turn", false, "run a TURN server (UDP) and hand logged-in nodes credentials for it (GET /ice-servers)")
	f.StringVar(&o.turnListen, "turn-listen", "0.0.0.0:3478", "UDP address of the TURN server, IP:port (relay sockets bind to the same IP)")
	f.StringVar(&o.turnPublicIP, "turn-public-ip", "", "IP address peers reach the TURN server and its relays at (default: the --turn-listen IP, else the --public-url IP; required when neither is one)")
	f.StringVar(&o.turnRealm, "turn-realm", "", "TURN realm (default: the --public-url host)")
	f.StringVar(&o.turnSecret, "turn-secret-file", "", "file holding the TURN credential secret, base64 of at least 32 bytes (default DATA/"+turnSecretFile+", created if missing)")
	f.DurationVar(&o.turnTTL, "turn-ttl", turnserver.DefaultTTL, "lifetime of a TURN credential, 1m to 24h; a relay lasts at most as long as its credential")
	f.Int64Var(&o.turnQuota, "turn-quota", turnserver.DefaultQuota, "bytes one node may relay per UTC day, both directions (0 = unlimited)")
	f.IntVar(&o.turnMaxAllocs, "turn-max-allocations", turnserver.DefaultMaxAllocations, "relays one node may hold at once (each is a UDP socket of the hub)")
	f.StringVar(&o.turnRelayPorts, "turn-relay-ports", "", "UDP port range of relay sockets, LOW-HIGH (e.g. 49152-65535; default: any port the system gives)")
	o.addOAuthFlags(f)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w: %w\nusage: %s (see dpc-hub --help)", ErrBadFlags, err, c.UseLine())
	})
	cmd.AddCommand(newRotateTokenKeyCmd())
	return cmd
}

// Execute runs the command and returns the exit code.
func Execute() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := NewRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "dpc-hub:", err)
		return 1
	}
	return 0
}

func bad(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadFlags, fmt.Sprintf(format, a...))
}

// check validates the flags that do not need the network or the disk.
func (o *options) check() error {
	switch {
	case o.data == "" && o.postgres == "":
		return bad("--data is required: the directory that holds the hub's store and token secret (or --postgres URL, to keep them in PostgreSQL)")
	case o.data != "" && o.postgres != "":
		return bad("--data and --postgres: with --postgres the hub keeps its state and keys in the database and uses no data dir; drop --data")
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return bad("--tls-cert and --tls-key go together")
	}
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		return bad("--listen %q: want host:port, e.g. 127.0.0.1:8000 (%v)", o.listen, err)
	}
	if o.accessTTL < time.Minute || o.accessTTL > 24*time.Hour {
		return bad("--access-ttl %s: want 1m to 24h", o.accessTTL)
	}
	if o.refreshTTL < o.accessTTL || o.refreshTTL > 365*24*time.Hour {
		return bad("--refresh-ttl %s: want at least --access-ttl and at most 8760h", o.refreshTTL)
	}
	for name, v := range map[string]int{"--rate-login": o.limits.LoginPerMinute, "--rate-api": o.limits.APIPerMinute,
		"--rate-ip": o.limits.IPPerMinute, "--rate-signal": o.limits.SignalsPerSecond, "--rate-mailbox": o.limits.MailboxPutsPerMinute} {
		if v < 0 {
			return bad("%s %d: want 0 (unlimited) or more", name, v)
		}
	}
	if o.maxSignalBytes < 1024 || o.maxSignalBytes > 1<<20 {
		return bad("--max-signal-bytes %d: want 1024 to 1048576", o.maxSignalBytes)
	}
	if o.sendQueue < 1 || o.sendQueue > 4096 {
		return bad("--send-queue %d: want 1 to 4096", o.sendQueue)
	}
	if o.maxConns < 1 {
		return bad("--max-connections %d: want 1 or more", o.maxConns)
	}
	if o.reconnectSpread < 0 || o.reconnectSpread > 5*time.Minute {
		return bad("--reconnect-spread %s: want 0 to 5m", o.reconnectSpread)
	}
	if o.postgres != "" {
		u, err := url.Parse(o.postgres)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return bad("--postgres: want a URL like postgres://USER@HOST:5432/DATABASE (the password in PGPASSWORD or ~/.pgpass)")
		}
	}
	if hclog.LevelFromString(o.logLevel) == hclog.NoLevel {
		return bad("--log-level %q: want trace, debug, info, warn or error", o.logLevel)
	}
	if err := o.checkOAuth(); err != nil {
		return err
	}
	return o.checkTURN()
}

// checkTURN validates the --turn-* flags.
func (o *options) checkTURN() error {
	if !o.turn {
		if len(o.turnFlagsSet) > 0 {
			return bad("%s configure the TURN server, which runs only with --turn", strings.Join(o.turnFlagsSet, ", "))
		}
		return nil
	}
	host, port, err := net.SplitHostPort(o.turnListen)
	if err != nil {
		return bad("--turn-listen %q: want IP:port, e.g. 0.0.0.0:3478 (%v)", o.turnListen, err)
	}
	if host != "" && net.ParseIP(host) == nil {
		return bad("--turn-listen %q: the host must be an IP address (relays bind to it), e.g. 0.0.0.0:3478", o.turnListen)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return bad("--turn-listen %q: want a port from 1 to 65535 (clients are told it)", o.turnListen)
	}
	if o.turnPublicIP != "" {
		ip := net.ParseIP(o.turnPublicIP)
		if ip == nil || ip.IsUnspecified() || ip.IsMulticast() {
			return bad("--turn-public-ip %q: want the unicast IP address peers reach this host at, e.g. 203.0.113.5", o.turnPublicIP)
		}
	}
	if o.turnTTL < turnserver.MinTTL || o.turnTTL > turnserver.MaxTTL || o.turnTTL%time.Second != 0 {
		return bad("--turn-ttl %s: want whole seconds from 1m to 24h", o.turnTTL)
	}
	if o.turnQuota < 0 {
		return bad("--turn-quota %d: want 0 (unlimited) or more bytes", o.turnQuota)
	}
	if o.turnMaxAllocs < 1 {
		return bad("--turn-max-allocations %d: want 1 or more", o.turnMaxAllocs)
	}
	if _, _, err := o.relayPorts(); err != nil {
		return err
	}
	return nil
}

// relayPorts parses --turn-relay-ports; 0, 0 when it is not set.
func (o *options) relayPorts() (uint16, uint16, error) {
	if o.turnRelayPorts == "" {
		return 0, 0, nil
	}
	lo, hi, ok := strings.Cut(o.turnRelayPorts, "-")
	l, err1 := strconv.ParseUint(lo, 10, 16)
	h, err2 := strconv.ParseUint(hi, 10, 16)
	if !ok || err1 != nil || err2 != nil || l == 0 || l > h {
		return 0, 0, bad("--turn-relay-ports %q: want LOW-HIGH with 1 <= LOW <= HIGH <= 65535, e.g. 49152-65535", o.turnRelayPorts)
	}
	return uint16(l), uint16(h), nil
}

// turnPublic returns the IP relays are advertised at and the realm:
// --turn-public-ip, else the --turn-listen IP, else the IP in the hub's
// URL; the realm is --turn-realm or the URL's host.
func (o *options) turnPublic(aud string) (net.IP, string, error) {
	u, err := url.Parse(aud)
	if err != nil {
		return nil, "", bad("--public-url: %v", err)
	}
	realm := o.turnRealm
	if realm == "" {
		realm = u.Hostname()
	}
	if o.turnPublicIP != "" {
		return net.ParseIP(o.turnPublicIP), realm, nil
	}
	host, _, _ := net.SplitHostPort(o.turnListen)
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		return ip, realm, nil
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && !ip.IsUnspecified() {
		return ip, realm, nil
	}
	return nil, "", bad("--turn-listen %s listens on every interface and the hub's URL %s names no IP, so the hub cannot tell where peers reach its relays: set --turn-public-ip (e.g. 203.0.113.5)",
		o.turnListen, aud)
}

// publicURL returns the canonical audience: --public-url, or the listening
// address (as bound) with the scheme TLS implies.
func (o *options) audience(bound net.Addr) (string, error) {
	raw := o.publicURL
	if raw == "" {
		host, _, _ := net.SplitHostPort(o.listen)
		_, port, _ := net.SplitHostPort(bound.String())
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			return "", bad("--listen %s listens on every interface, so the hub cannot tell the URL nodes use: set --public-url (e.g. https://hub.example.org)", o.listen)
		}
		scheme := "http"
		if o.tlsCert != "" {
			scheme = "https"
		}
		raw = scheme + "://" + net.JoinHostPort(host, port)
	}
	canon, err := hublogin.CanonicalURL(raw)
	if err != nil {
		return "", bad("--public-url: %v", err)
	}
	return canon, nil
}

func run(ctx context.Context, o *options, stderr io.Writer) error {
	if err := o.check(); err != nil {
		return err
	}
	oauthCfg, err := o.loadOAuth()
	if err != nil {
		return err
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "dpc-hub", Level: hclog.LevelFromString(o.logLevel), Output: stderr, JSONFormat: o.logJSON})

	var tlsCfg *tls.Config
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return bad("--tls-cert/--tls-key: %v", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	// Bind first: a taken address is the most common mistake, and it must
	// fail before anything touches the data dir.
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another hub running there? choose another --listen)", o.listen, err)
	}
	defer ln.Close()
	aud, err := o.audience(ln.Addr())
	if err != nil {
		return err
	}
	var (
		turnConn  net.PacketConn
		turnIP    net.IP
		turnRealm string
	)
	if o.turn {
		if turnIP, turnRealm, err = o.turnPublic(aud); err != nil {
			return err
		}
		turnConn, err = net.ListenPacket("udp", o.turnListen)
		if err != nil {
			return fmt.Errorf("TURN: listen on UDP %s: %w (is another TURN server running there? choose another --turn-listen)", o.turnListen, err)
		}
		defer turnConn.Close()
	}

	if o.data != "" {
		if err := os.MkdirAll(o.data, 0o700); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
	}
	st, pg, cl, err := o.openStore(ctx, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	if cl != nil {
		defer cl.Close() // on the error paths; the shutdown below closes it in order
	}
	keys := o.tokenKeys(pg, logger)
	sign, accept, err := keys.load(ctx)
	if err != nil {
		return err
	}
	authority, err := auth.New(auth.Config{Audience: aud, Secret: sign, AcceptSecrets: accept, AccessTTL: o.accessTTL,
		RefreshTTL: o.refreshTTL, UnknownKey: keys.unknownKey}, st)
	if err != nil {
		return err
	}
	keys.a = authority
	if keys.pg != nil {
		// Keys in the database: reread every 30 s, and at once on SIGHUP.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		keysCtx, stopKeys := context.WithCancel(ctx)
		defer stopKeys()
		go keys.reloadLoop(keysCtx, hup)
	}
	var turnSrv *turnserver.Server
	if o.turn {
		if turnSrv, err = o.startTURN(ctx, pg, turnConn, turnIP, turnRealm, logger); err != nil {
			return err
		}
	}
	oauthSvc, err := o.oauthService(oauthCfg, aud, st, logger)
	if err != nil {
		return err
	}
	var clu server.Cluster
	if cl != nil {
		clu = cl
	}
	hub := server.New(server.Config{Authority: authority, Store: st, Logger: logger, Version: Version,
		Limits: o.limits, MaxSignalBytes: o.maxSignalBytes, SendQueue: o.sendQueue, MaxConnections: o.maxConns,
		TURN: turnSrv, OAuth: oauthSvc, Cluster: clu, ReconnectSpread: o.reconnectSpread})
	if cl != nil {
		cl.Run(hub)
	}
	httpSrv := &http.Server{
		Handler:           hub.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          logger.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	var l net.Listener = ln
	if tlsCfg != nil {
		l = tls.NewListener(ln, tlsCfg)
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(l) }()
	logArgs := []any{"addr", ln.Addr().String(), "public_url", aud, "tls", tlsCfg != nil, "token_key", authority.KeyID()}
	if cl != nil {
		logArgs = append(logArgs, "store", "postgres", "replica", cl.ID())
	} else {
		logArgs = append(logArgs, "data", o.data)
	}
	logger.Info("listening", logArgs...)

	select {
	case err = <-errc:
	case <-ctx.Done():
		logger.Info("shutting down")
	}
	hub.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = httpSrv.Shutdown(sctx)
	if cl != nil {
		// After the sockets: the other replicas forget this one at once.
		if cerr := cl.Close(); cerr != nil {
			logger.Warn("leaving the cluster", "error", cerr)
		}
	}
	if turnSrv != nil {
		if cerr := turnSrv.Close(); cerr != nil {
			logger.Warn("closing the TURN server", "error", cerr)
		}
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// openStore opens the hub's store: the PostgreSQL database of --postgres,
// joined to the cluster of replicas sharing it, or the embedded store in
// the data dir.
func (o *options) openStore(ctx context.Context, logger hclog.Logger) (store.Store, *pgstore.Store, *cluster.Cluster, error) {
	if o.postgres == "" {
		st, err := badgerstore.Open(filepath.Join(o.data, "db"), logger.Named("store"))
		return st, nil, nil, err
	}
	st, err := pgstore.Open(ctx, o.postgres, logger.Named("store"))
	if err != nil {
		return nil, nil, nil, err
	}
	cl, err := cluster.New(ctx, cluster.Config{Pool: st.Pool(), Logger: logger.Named("cluster")})
	if err != nil {
		_ = st.Close()
		return nil, nil, nil, err
	}
	return st, st, cl, nil
}

// startTURN loads (or creates) the TURN secret and runs the TURN server on
// conn. The secret is --turn-secret-file, else the cluster's in the
// database (with --postgres), else DATA/turn.secret.
func (o *options) startTURN(ctx context.Context, pg *pgstore.Store, conn net.PacketConn, ip net.IP, realm string, logger hclog.Logger) (*turnserver.Server, error) {
	var secret []byte
	var err error
	if o.turnSecret == "" && pg != nil {
		secret, _, err = pg.Keys(ctx, pgstore.KeyTURN)
	} else {
		path, create := o.turnSecret, false
		if path == "" {
			path, create = filepath.Join(o.data, turnSecretFile), true
		}
		secret, err = auth.LoadOrCreateSecret(path, create)
	}
	if err != nil {
		return nil, fmt.Errorf("TURN: %w", err)
	}
	lo, hi, _ := o.relayPorts()
	ts, err := turnserver.Start(turnserver.Config{Conn: conn, PublicIP: ip, Realm: realm, Secret: secret,
		TTL: o.turnTTL, Quota: o.turnQuota, MaxAllocations: o.turnMaxAllocs, RelayMinPort: lo, RelayMaxPort: hi, Logger: logger.Named("turn")})
	if err != nil {
		return nil, err
	}
	logger.Info("TURN server running", "addr", conn.LocalAddr().String(), "url", ts.URL(), "realm", realm,
		"quota_bytes_per_day", o.turnQuota, "credential_ttl", o.turnTTL)
	return ts, nil
}
