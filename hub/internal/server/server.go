package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/dpc-go/dpc/hub/internal/auth"
	"github.com/dpc-go/dpc/hub/internal/oauth"
	"github.com/dpc-go/dpc/hub/internal/store"
	"github.com/dpc-go/dpc/hub/internal/turnserver"
	"github.com/dpc-go/dpc/sdk/dpcuri"
	"github.com/dpc-go/dpc/sdk/hublogin"
)

// Limits are the per-client rate limits; 0 switches one off.
type Limits struct {
	// LoginPerMinute limits POST /login/challenge, /login and /refresh per client IP.
	LoginPerMinute int
	// APIPerMinute limits authenticated requests (and signaling connects) per node_id.
	APIPerMinute int
	// IPPerMinute limits every request but /health and /metrics per client IP.
	IPPerMinute int
	// SignalsPerSecond limits messages per signaling connection.
	SignalsPerSecond int
	// MailboxPutsPerMinute limits POST /mailbox/{node_id} per sending
	// node_id (kept in memory only, like every limit).
	MailboxPutsPerMinute int
}

// DefaultLimits are the limits dpc-hub starts with.
var DefaultLimits = Limits{LoginPerMinute: 10, APIPerMinute: 120, IPPerMinute: 600, SignalsPerSecond: 20, MailboxPutsPerMinute: 60}

// Config configures a Server.
type Config struct {
	Authority *auth.Authority
	Store     store.Store
	Logger    hclog.Logger
	Version   string
	Limits    Limits
	// MaxSignalBytes bounds one signaling message (default 64 KiB).
	MaxSignalBytes int64
	// SendQueue bounds the messages waiting for one connection (default 64).
	SendQueue int
	// IdleTimeout closes a socket that sent nothing for that long (default 2 min).
	IdleTimeout time.Duration
	// WriteTimeout bounds one write to a socket (default 10 s).
	WriteTimeout time.Duration
	// SeenFlushInterval is how often last-seen times are written (default 10 s).
	SeenFlushInterval time.Duration
	// MaxConnections bounds the open signaling sockets (default 50,000);
	// beyond it a connect answers 503 hub_full with Retry-After.
	MaxConnections int
	// TURN is the embedded TURN server whose credentials GET /ice-servers
	// hands out; nil when the hub runs none. The caller closes it.
	TURN *turnserver.Server
	// OAuth links identity-provider accounts to nodes; nil when the hub
	// offers none. With OAuth.Required() every node needs one.
	OAuth *oauth.Service
	// Cluster joins this hub to the other replicas sharing its database;
	// nil for a hub that runs alone. The caller runs it with the Server as
	// its handler and closes it after the Server.
	Cluster Cluster
	// ReconnectSpread is the longest a client is told to wait before it
	// reconnects when this hub shuts down (default 5 s): the clients of a
	// stopping replica spread their reconnects over it.
	ReconnectSpread time.Duration
	// MailboxQuota bounds each recipient's mailbox (default
	// DefaultMailboxQuota: 1,000 envelopes and 16 MiB).
	MailboxQuota store.MailboxQuota
}

// Cluster is what the hub needs of its cluster (package cluster): where
// the nodes of other replicas are, and telling them what happened here.
type Cluster interface {
	ID() string
	Replicas() int
	Join(ctx context.Context, nodeID, connID string) error
	Leave(ctx context.Context, nodeID, connID string) error
	// Relay returns cluster.ErrOffline when no other replica holds target.
	Relay(ctx context.Context, target string, msg []byte) error
	Online(ctx context.Context, nodeIDs []string) (map[string]bool, error)
	Revoke(ctx context.Context, nodeID, family string) error
	Collectors() []prometheus.Collector
}

// Server is the hub.
type Server struct {
	cfg     Config
	log     hclog.Logger
	httpLog hclog.Logger
	metrics *metrics
	started time.Time
	conns   registry

	loginLim *keyedLimiter
	apiLim   *keyedLimiter
	ipLim    *keyedLimiter
	// mailboxLim is keyed by the sending node_id.
	mailboxLim *keyedLimiter

	seenMu sync.Mutex
	seen   map[string]time.Time

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	oauthLog   hclog.Logger
	oauthLinks *prometheus.CounterVec
	// draining is set when the hub shuts down: /health answers 503 so that
	// a load balancer stops sending it clients.
	draining atomic.Bool
}

// New returns a hub server; Close stops it.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.MaxSignalBytes <= 0 {
		cfg.MaxSignalBytes = 64 << 10
	}
	if cfg.SendQueue <= 0 {
		cfg.SendQueue = 64
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 2 * time.Minute
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.SeenFlushInterval <= 0 {
		cfg.SeenFlushInterval = 10 * time.Second
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 50_000
	}
	if cfg.ReconnectSpread <= 0 {
		cfg.ReconnectSpread = 5 * time.Second
	}
	if cfg.MailboxQuota == (store.MailboxQuota{}) {
		cfg.MailboxQuota = DefaultMailboxQuota
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger.Named("signal"),
		httpLog:  cfg.Logger.Named("http"),
		metrics:  newMetrics(cfg.TURN, cfg.Cluster, cfg.Store),
		started:  time.Now(),
		conns:    registry{conns: make(map[string]*hubConn)},
		loginLim: newKeyedLimiter("login", cfg.Limits.LoginPerMinute, time.Minute),
		apiLim:   newKeyedLimiter("api", cfg.Limits.APIPerMinute, time.Minute),
		ipLim:    newKeyedLimiter("ip", cfg.Limits.IPPerMinute, time.Minute),
		seen:     make(map[string]time.Time),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	s.mailboxLim = newKeyedLimiter("mailbox", cfg.Limits.MailboxPutsPerMinute, time.Minute)
	go s.flushLoop()
	return s
}

func (s *Server) flushLoop() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.SeenFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.flushSeen(context.Background())
		case <-s.stop:
			return
		}
	}
}

// Close shuts the hub down gracefully: /health turns to "draining", every
// signaling socket is told to reconnect (after a random wait within
// ReconnectSpread, so that a replica's clients do not all come back at
// once) and closed with status 1012 (service restart), and the pending
// last-seen times are written. The caller closes the store afterwards.
func (s *Server) Close() {
	s.stopOnce.Do(func() {
		s.draining.Store(true)
		close(s.stop)
		<-s.done
		hint, _ := json.Marshal(serverMessage{Type: "reconnect", RetryAfterMS: s.cfg.ReconnectSpread.Milliseconds(),
			Message: "hub replica shutting down: reconnect"})
		// The hint, then the close frame, so that clients learn why; in
		// parallel, each bounded, and waited for: the process exits next.
		var wg sync.WaitGroup
		for _, c := range s.conns.all() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.goodbye(hint)
			}()
		}
		wg.Wait()
		s.flushSeen(context.Background())
	})
}

// Connections returns the number of open signaling sockets.
func (s *Server) Connections() int { return s.conns.len() }

// Handler returns the hub's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.handleHealth)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("POST /login/challenge", s.limited(s.loginLim, s.handleChallenge))
	mux.HandleFunc("POST /login", s.limited(s.loginLim, s.handleLogin))
	mux.HandleFunc("POST /refresh", s.limited(s.loginLim, s.handleRefresh))
	mux.HandleFunc("POST /logout", s.authed(s.handleLogout))
	mux.HandleFunc("GET /profile", s.authed(s.handleGetOwnProfile))
	mux.HandleFunc("PUT /profile", s.authed(s.handlePutProfile))
	mux.HandleFunc("DELETE /profile", s.authed(s.handleDeleteProfile))
	mux.HandleFunc("GET /profile/{node_id}", s.authed(s.handleGetProfile))
	mux.HandleFunc("GET /presence/{node_id}", s.authed(s.handlePresence))
	mux.HandleFunc("GET /discovery/search", s.authed(s.handleSearch))
	mux.HandleFunc("GET /ws/signal", s.authed(s.handleSignal))
	mux.HandleFunc("GET /ice-servers", s.authed(s.handleIceServers))
	mux.HandleFunc("POST /mailbox/{node_id}", s.authed(s.handleMailboxPut))
	mux.HandleFunc("GET /mailbox", s.authed(s.handleMailboxFetch))
	mux.HandleFunc("POST /mailbox/ack", s.authed(s.handleMailboxAck))
	s.oauthRoutes(mux)
	return s.observe(mux)
}

// statusWriter records the status code for metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets websocket.Accept reach the Hijacker.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe applies the per-IP limit, security headers and metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		if r.URL.Path != "/health" && r.URL.Path != "/metrics" {
			if ok, d := s.ipLim.allow(clientIP(r), time.Now()); !ok {
				s.tooMany(sw, "ip", d)
				s.metrics.requests.WithLabelValues("*", "429").Inc()
				return
			}
		}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limited applies a per-IP limiter to an unauthenticated route.
func (s *Server) limited(l *keyedLimiter, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ok, d := l.allow(clientIP(r), time.Now()); !ok {
			s.tooMany(w, l.class, d)
			return
		}
		h(w, r)
	}
}

type ctxKey struct{}

func claimsOf(r *http.Request) auth.Claims { return r.Context().Value(ctxKey{}).(auth.Claims) }

// bearer returns the access token: "Authorization: Bearer T", or ?token=T
// on /ws/signal (D-PC's clients; browsers cannot set headers on WebSockets).
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	if r.URL.Path == "/ws/signal" {
		return r.URL.Query().Get("token")
	}
	return ""
}

// authed checks the access token and the per-node limit.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dpc-hub"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "send an access token: Authorization: Bearer <token> (POST /login gives one)")
			return
		}
		c, err := s.cfg.Authority.Authenticate(r.Context(), tok)
		if err != nil {
			if errors.Is(err, auth.ErrInvalidToken) || errors.Is(err, auth.ErrRevoked) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="dpc-hub", error="invalid_token"`)
				code := "invalid_token"
				if errors.Is(err, auth.ErrRevoked) {
					code = "token_revoked"
				}
				writeError(w, http.StatusUnauthorized, code, err.Error())
				return
			}
			s.internalError(w, r, err)
			return
		}
		if ok, d := s.apiLim.allow(c.NodeID, time.Now()); !ok {
			s.tooMany(w, "api", d)
			return
		}
		if !s.accountGate(w, r, c.NodeID) {
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
	}
}

// errorBody is every error the API answers.
type errorBody struct {
	Error  string `json:"error"`
	Detail string `json:"detail"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, errCode, detail string) {
	writeJSON(w, code, errorBody{Error: errCode, Detail: detail})
}

// internalError answers a failure of the hub: 503 unavailable with
// Retry-After when its database is unreachable (retrying later helps),
// else 500.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrUnavailable) {
		s.httpLog.Warn("request failed: the database is unreachable", "route", r.Pattern, "error", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the hub cannot reach its database right now; retry in a few seconds")
		return
	}
	s.httpLog.Error("request failed", "route", r.Pattern, "error", err)
	writeError(w, http.StatusInternalServerError, "internal", "the hub could not complete the request; see its log")
}

func (s *Server) badRequest(w http.ResponseWriter, err error) {
	writeError(w, http.StatusBadRequest, "bad_request", err.Error())
}

type healthBody struct {
	// Status is "healthy", "degraded" (the database is unreachable) or
	// "draining" (shutting down); the code is 503 unless healthy.
	Status               string `json:"status"`
	Version              string `json:"version"`
	Database             string `json:"database"`
	WebsocketConnections int    `json:"websocket_connections"`
	UptimeSeconds        int64  `json:"uptime_seconds"`
	// Turn is "on" when the hub runs a TURN server, else "off".
	Turn string `json:"turn"`
	// Replica is this replica's id and Replicas the live replicas it
	// counts, when the hub runs on PostgreSQL.
	Replica  string `json:"replica,omitempty"`
	Replicas int    `json:"replicas,omitempty"`
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	b := healthBody{Status: "healthy", Version: s.cfg.Version, Database: "ok", WebsocketConnections: s.conns.len(),
		UptimeSeconds: int64(time.Since(s.started).Seconds()), Turn: "off"}
	if s.cfg.TURN != nil {
		b.Turn = "on"
	}
	if s.cfg.Cluster != nil {
		b.Replica, b.Replicas = s.cfg.Cluster.ID(), s.cfg.Cluster.Replicas()
	}
	code := http.StatusOK
	if err := s.cfg.Store.Ping(r.Context()); err != nil {
		b.Status, b.Database, code = "degraded", err.Error(), http.StatusServiceUnavailable
	}
	if s.draining.Load() {
		b.Status, code = "draining", http.StatusServiceUnavailable
	}
	writeJSON(w, code, b)
}

type challengeBody struct {
	Nonce     string    `json:"nonce"`
	Audience  string    `json:"audience"`
	Purpose   string    `json:"purpose"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int64     `json:"expires_in"`
}

func (s *Server) handleChallenge(w http.ResponseWriter, r *http.Request) {
	n, err := s.cfg.Authority.Challenge(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, challengeBody{Nonce: n.Value, Audience: s.cfg.Authority.Audience(), Purpose: hublogin.Purpose,
		ExpiresAt: n.Expires.UTC(), ExpiresIn: int64(time.Until(n.Expires).Seconds())})
}

type tokensBody struct {
	NodeID           string `json:"node_id"`
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
}

func tokensOf(t auth.Tokens) tokensBody {
	return tokensBody{NodeID: t.NodeID, AccessToken: t.AccessToken, TokenType: "bearer",
		ExpiresIn: int64(time.Until(t.AccessExpires).Seconds()), RefreshToken: t.RefreshToken,
		RefreshExpiresIn: int64(time.Until(t.RefreshExpires).Seconds())}
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.badRequest(w, err)
		return
	}
	req, err := decodeLogin(body)
	if err != nil {
		s.metrics.logins.WithLabelValues("bad_request").Inc()
		s.badRequest(w, err)
		return
	}
	t, err := s.cfg.Authority.Login(r.Context(), auth.LoginRequest{NodeID: req.NodeID, CertificatePEM: req.CertPEM,
		Nonce: req.Nonce, Signature: req.Signature, Algorithm: req.Algorithm})
	switch {
	case errors.Is(err, auth.ErrBadNonce):
		s.metrics.logins.WithLabelValues("bad_nonce").Inc()
		writeError(w, http.StatusUnauthorized, "bad_nonce", err.Error()+"; ask POST /login/challenge for a new one")
		return
	case errors.Is(err, auth.ErrLoginRefused):
		s.metrics.logins.WithLabelValues("refused").Inc()
		s.httpLog.Info("login refused", "node_id", req.NodeID, "ip", clientIP(r), "error", err)
		writeError(w, http.StatusUnauthorized, "login_refused", err.Error())
		return
	case err != nil:
		s.metrics.logins.WithLabelValues("error").Inc()
		s.internalError(w, r, err)
		return
	}
	s.metrics.logins.WithLabelValues("ok").Inc()
	s.httpLog.Info("node logged in", "node_id", t.NodeID)
	writeJSON(w, http.StatusOK, tokensOf(t))
}

func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.badRequest(w, err)
		return
	}
	rt, err := decodeRefresh(body)
	if err != nil {
		s.badRequest(w, err)
		return
	}
	t, err := s.cfg.Authority.Refresh(r.Context(), rt)
	switch {
	case errors.Is(err, auth.ErrRefreshReused):
		s.metrics.refreshes.WithLabelValues("reused").Inc()
		s.httpLog.Warn("a rotated refresh token was presented again: its login is revoked", "ip", clientIP(r))
		writeError(w, http.StatusUnauthorized, "refresh_reused", err.Error())
		return
	case errors.Is(err, auth.ErrRevoked):
		s.metrics.refreshes.WithLabelValues("revoked").Inc()
		writeError(w, http.StatusUnauthorized, "token_revoked", err.Error())
		return
	case errors.Is(err, auth.ErrInvalidToken):
		s.metrics.refreshes.WithLabelValues("invalid").Inc()
		writeError(w, http.StatusUnauthorized, "invalid_token", err.Error())
		return
	case err != nil:
		s.metrics.refreshes.WithLabelValues("error").Inc()
		s.internalError(w, r, err)
		return
	}
	s.metrics.refreshes.WithLabelValues("ok").Inc()
	writeJSON(w, http.StatusOK, tokensOf(t))
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	c := claimsOf(r)
	if err := s.cfg.Authority.Logout(r.Context(), c); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.endLogins(r.Context(), c.NodeID, c.Family, "logged out")
	writeJSON(w, http.StatusOK, map[string]string{"message": "logged out: this login's tokens are revoked", "node_id": c.NodeID})
}

// profileView is a profile as the API shows it, with presence.
type profileView struct {
	store.Profile
	Online   bool       `json:"online"`
	LastSeen *time.Time `json:"last_seen,omitempty"`
}

// AllLogins names every login of a node where a login family is expected.
const AllLogins = "*"

// endLogins ends a login (family, or AllLogins) of nodeID on every
// replica: its socket closes with reason, and the node's TURN credentials
// and relays end. The store already refuses what it must.
func (s *Server) endLogins(ctx context.Context, nodeID, family, reason string) {
	s.closeLogin(nodeID, family, reason)
	if s.cfg.Cluster != nil {
		if err := s.cfg.Cluster.Revoke(ctx, nodeID, family); err != nil {
			s.httpLog.Warn("telling the other replicas failed; the node's socket there lives until its token expires", "node_id", nodeID, "reason", reason, "error", err)
		}
	}
}

// closeLogin ends a login (family, or AllLogins) of nodeID on this
// replica: its socket, and the node's TURN credentials and relays.
func (s *Server) closeLogin(nodeID, family, reason string) {
	if conn := s.conns.get(nodeID); conn != nil && (family == AllLogins || conn.family == family) {
		conn.close(websocket.StatusNormalClosure, reason)
	}
	if s.cfg.TURN != nil {
		s.cfg.TURN.Revoke(nodeID)
	}
}

// Revoked is the cluster's handler for a login (family, or AllLogins)
// ended on another replica.
func (s *Server) Revoked(nodeID, family string) {
	reason := "logged out"
	if family == AllLogins {
		reason = "account unlinked: this hub requires a linked account"
	}
	s.closeLogin(nodeID, family, reason)
}

// online returns which of nodeIDs hold a signaling socket on this replica
// or, in a cluster, on another.
func (s *Server) online(ctx context.Context, nodeIDs []string) (map[string]bool, error) {
	out := make(map[string]bool, len(nodeIDs))
	var elsewhere []string
	for _, id := range nodeIDs {
		if s.conns.get(id) != nil {
			out[id] = true
		} else {
			elsewhere = append(elsewhere, id)
		}
	}
	if s.cfg.Cluster == nil || len(elsewhere) == 0 {
		return out, nil
	}
	there, err := s.cfg.Cluster.Online(ctx, elsewhere)
	if err != nil {
		return nil, err
	}
	for id := range there {
		out[id] = true
	}
	return out, nil
}

// presence returns whether a node is online here and when it was last seen.
func (s *Server) presence(r *http.Request, nodeID string) (online bool, last *time.Time, known bool, err error) {
	on, err := s.online(r.Context(), []string{nodeID})
	if err != nil {
		return false, nil, false, err
	}
	online = on[nodeID]
	if t, ok := s.pendingSeen(nodeID); ok {
		return online, &t, true, nil
	}
	n, err := s.cfg.Store.GetNode(r.Context(), nodeID)
	if errors.Is(err, store.ErrNotFound) {
		return online, nil, online, nil
	}
	if err != nil {
		return false, nil, false, err
	}
	t := n.LastSeen.UTC()
	return online, &t, true, nil
}

func (s *Server) writeProfile(w http.ResponseWriter, r *http.Request, nodeID string) {
	p, err := s.cfg.Store.GetProfile(r.Context(), nodeID)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no profile published for "+nodeID)
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	online, last, _, err := s.presence(r, nodeID)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, profileView{Profile: p, Online: online, LastSeen: last})
}

func (s *Server) handleGetOwnProfile(w http.ResponseWriter, r *http.Request) {
	s.writeProfile(w, r, claimsOf(r).NodeID)
}

func (s *Server) handleGetProfile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("node_id")
	if !dpcuri.ValidNodeID(id) {
		s.badRequest(w, badRequest("%q is not a node_id", id))
		return
	}
	s.writeProfile(w, r, id)
}

func (s *Server) handlePutProfile(w http.ResponseWriter, r *http.Request) {
	c := claimsOf(r)
	body, err := readBody(w, r)
	if err != nil {
		s.badRequest(w, err)
		return
	}
	pb, err := decodeProfile(body, c.NodeID)
	if err != nil {
		s.badRequest(w, err)
		return
	}
	p := store.Profile{NodeID: c.NodeID, Name: pb.Name, Description: pb.Description, Expertise: pb.Expertise,
		URIs: pb.URIs, UpdatedAt: time.Now().UTC()}
	if pb.Compute != nil {
		p.Compute = &store.Compute{Available: pb.Compute.Available, Models: pb.Compute.Models}
	}
	if err := s.cfg.Store.PutProfile(r.Context(), p); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.writeProfile(w, r, c.NodeID)
}

// handleDeleteProfile removes the profile only (D-PC deleted the whole user).
func (s *Server) handleDeleteProfile(w http.ResponseWriter, r *http.Request) {
	err := s.cfg.Store.DeleteProfile(r.Context(), claimsOf(r).NodeID)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "you have no published profile")
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type presenceBody struct {
	NodeID   string     `json:"node_id"`
	Online   bool       `json:"online"`
	LastSeen *time.Time `json:"last_seen,omitempty"`
}

func (s *Server) handlePresence(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("node_id")
	if !dpcuri.ValidNodeID(id) {
		s.badRequest(w, badRequest("%q is not a node_id", id))
		return
	}
	online, last, known, err := s.presence(r, id)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if !known {
		writeError(w, http.StatusNotFound, "not_found", id+" never logged in to this hub")
		return
	}
	writeJSON(w, http.StatusOK, presenceBody{NodeID: id, Online: online, LastSeen: last})
}

type searchResult struct {
	NodeID      string         `json:"node_id"`
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Expertise   map[string]int `json:"expertise,omitempty"`
	Online      bool           `json:"online"`
}

type searchBody struct {
	Results []searchResult `json:"results"`
	Total   int            `json:"total"`
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sq, err := decodeSearch(q.Get("q"), q.Get("min_level"), q.Get("limit"))
	if err != nil {
		s.badRequest(w, err)
		return
	}
	ps, err := s.cfg.Store.SearchProfiles(r.Context(), store.Query{Text: sq.Text, MinLevel: sq.MinLevel, Limit: sq.Limit})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.NodeID
	}
	on, err := s.online(r.Context(), ids)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := searchBody{Results: make([]searchResult, 0, len(ps)), Total: len(ps)}
	for _, p := range ps {
		out.Results = append(out.Results, searchResult{NodeID: p.NodeID, Name: p.Name, Description: p.Description,
			Expertise: p.Expertise, Online: on[p.NodeID]})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleSignal(w http.ResponseWriter, r *http.Request) {
	c := claimsOf(r)
	// A replica shutting down takes no new sockets: a node would be told to
	// reconnect again at once, and its presence would point at a replica
	// about to leave.
	if s.draining.Load() {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(s.cfg.ReconnectSpread.Seconds()))))
		writeError(w, http.StatusServiceUnavailable, "draining", "this hub replica is shutting down; reconnect (to another replica, or to this hub once it is back)")
		return
	}
	// A replacing socket of a node already here does not add one.
	if s.conns.len() >= s.cfg.MaxConnections && s.conns.get(c.NodeID) == nil {
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusServiceUnavailable, "hub_full", "this hub holds its maximum of "+strconv.Itoa(s.cfg.MaxConnections)+" signaling connections; retry later")
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return // Accept has answered the client
	}
	ws.SetReadLimit(s.cfg.MaxSignalBytes)
	hc := &hubConn{s: s, id: newConnID(), nodeID: c.NodeID, family: c.Family, ws: ws,
		limiter: rate.NewLimiter(rate.Limit(max(s.cfg.Limits.SignalsPerSecond, 0)), max(s.cfg.Limits.SignalsPerSecond, 1))}
	if s.cfg.Limits.SignalsPerSecond <= 0 {
		hc.limiter = rate.NewLimiter(rate.Inf, 1)
	}
	// The socket is served by a goroutine of its own and the handler
	// returns: net/http then drops the request, its headers and the
	// handler's grown stack, which would otherwise live as long as the
	// socket (a hub holds tens of thousands).
	go s.serveSignal(context.Background(), hc, c.Expires)
}

type iceServerBody struct {
	URLs       []string  `json:"urls"`
	Username   string    `json:"username"`
	Credential string    `json:"credential"`
	ExpiresAt  time.Time `json:"expires_at"`
}

type iceServersBody struct {
	IceServers []iceServerBody `json:"ice_servers"`
	TTL        int64           `json:"ttl"`
}

// handleIceServers issues the caller a TURN credential of the hub's TURN
// server; a hub without one answers 404.
func (s *Server) handleIceServers(w http.ResponseWriter, r *http.Request) {
	if s.cfg.TURN == nil {
		writeError(w, http.StatusNotFound, "not_found", "this hub runs no TURN server (its operator can start one with dpc-hub --turn)")
		return
	}
	c := s.cfg.TURN.Credentials(claimsOf(r).NodeID)
	writeJSON(w, http.StatusOK, iceServersBody{
		IceServers: []iceServerBody{{URLs: []string{c.URL}, Username: c.Username, Credential: c.Password, ExpiresAt: c.Expires}},
		TTL:        int64(time.Until(c.Expires).Seconds()),
	})
}
