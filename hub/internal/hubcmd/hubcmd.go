package hubcmd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/hub/internal/auth"
	"github.com/dpc-go/dpc/hub/internal/server"
	"github.com/dpc-go/dpc/hub/internal/store/badgerstore"
	"github.com/dpc-go/dpc/sdk/hublogin"
)

// Version is the dpc-hub version.
const Version = "0.1.0"

// ErrBadFlags is wrapped by every error about the command line.
var ErrBadFlags = errors.New("invalid flags")

// secretFile is the token secret's name inside the data dir.
const secretFile = "token.secret"

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
Prometheus metrics are at /metrics, liveness at /health.`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8000", "address to listen on, host:port (port 0 picks a free one)")
	f.StringVar(&o.data, "data", "", "data directory: store and token secret (required; created mode 0700)")
	f.StringVar(&o.publicURL, "public-url", "", "URL nodes reach this hub at, the audience of logins and tokens (default http(s)://LISTEN)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate chain PEM file (with --tls-key): serve HTTPS and WSS")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS private key PEM file (with --tls-cert)")
	f.StringVar(&o.secretFile, "token-secret-file", "", "file holding the token signing secret, base64 of at least 32 bytes (default DATA/"+secretFile+", created if missing)")
	f.DurationVar(&o.accessTTL, "access-ttl", auth.DefaultAccessTTL, "lifetime of access tokens (and of a signaling socket opened with one)")
	f.DurationVar(&o.refreshTTL, "refresh-ttl", auth.DefaultRefreshTTL, "lifetime of a refresh token (each refresh issues a new one)")
	f.IntVar(&o.limits.LoginPerMinute, "rate-login", o.limits.LoginPerMinute, "login, challenge and refresh requests per minute per client IP (0 = unlimited)")
	f.IntVar(&o.limits.APIPerMinute, "rate-api", o.limits.APIPerMinute, "authenticated requests per minute per node (0 = unlimited)")
	f.IntVar(&o.limits.IPPerMinute, "rate-ip", o.limits.IPPerMinute, "requests per minute per client IP, all routes but /health and /metrics (0 = unlimited)")
	f.IntVar(&o.limits.SignalsPerSecond, "rate-signal", o.limits.SignalsPerSecond, "signaling messages per second per connection (0 = unlimited)")
	f.Int64Var(&o.maxSignalBytes, "max-signal-bytes", 64<<10, "largest signaling message accepted, in bytes")
	f.IntVar(&o.sendQueue, "send-queue", 64, "messages queued for one connection before it is dropped as too slow")
	f.IntVar(&o.maxConns, "max-connections", 50_000, "signaling connections this hub holds at most (raise the open files limit to match)")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: trace, debug, info, warn, error")
	f.BoolVar(&o.logJSON, "log-json", false, "log JSON lines instead of text")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w: %w\nusage: %s (see dpc-hub --help)", ErrBadFlags, err, c.UseLine())
	})
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
	if o.data == "" {
		return bad("--data is required: the directory that holds the hub's store and token secret")
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
		"--rate-ip": o.limits.IPPerMinute, "--rate-signal": o.limits.SignalsPerSecond} {
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
	if hclog.LevelFromString(o.logLevel) == hclog.NoLevel {
		return bad("--log-level %q: want trace, debug, info, warn or error", o.logLevel)
	}
	return nil
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

	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	secretPath, create := o.secretFile, false
	if secretPath == "" {
		secretPath, create = filepath.Join(o.data, secretFile), true
	}
	secret, err := auth.LoadOrCreateSecret(secretPath, create)
	if err != nil {
		return err
	}
	st, err := badgerstore.Open(filepath.Join(o.data, "db"), logger.Named("store"))
	if err != nil {
		return err
	}
	defer st.Close()
	authority, err := auth.New(auth.Config{Audience: aud, Secret: secret, AccessTTL: o.accessTTL, RefreshTTL: o.refreshTTL}, st)
	if err != nil {
		return err
	}
	hub := server.New(server.Config{Authority: authority, Store: st, Logger: logger, Version: Version,
		Limits: o.limits, MaxSignalBytes: o.maxSignalBytes, SendQueue: o.sendQueue, MaxConnections: o.maxConns})
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
	logger.Info("listening", "addr", ln.Addr().String(), "public_url", aud, "data", o.data, "tls", tlsCfg != nil)

	select {
	case err = <-errc:
	case <-ctx.Done():
		logger.Info("shutting down")
	}
	hub.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = httpSrv.Shutdown(sctx)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}
