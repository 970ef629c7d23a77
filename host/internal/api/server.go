package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/plugins"
)

// NodeInfo is what GET /v1/node answers.
type NodeInfo struct {
	NodeID      string    `json:"node_id"`
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	Fingerprint string    `json:"fingerprint"`
	Started     time.Time `json:"started"`
	// Listening is what the transports listen on right now; filled in
	// for each request.
	Listening []network.Listening `json:"listening"`
}

// PluginSource reports plugin state.
type PluginSource interface {
	Status() []plugins.Status
	Events() []plugins.Event
}

// ServerOptions configures a Server.
type ServerOptions struct {
	// Listeners are where to serve (see Listen).
	Listeners *Listeners
	Token     string
	Logger    hclog.Logger
	Node      NodeInfo
	Plugins   PluginSource
	// Listening reports what the transports listen on, for GET /v1/node;
	// nil reports nothing.
	Listening func() []network.Listening
	// Routes are the capabilities' routes, mounted in order.
	Routes []Routes
}

// Routes mount one capability's routes: each file of this package that
// serves a capability (peers.go, chat.go, files.go, …) makes one, and the
// node picks what to mount.
type Routes func(mux *http.ServeMux)

// Server is the local API server.
type Server struct {
	o    ServerOptions
	http *http.Server
}

// NewServer builds the server on bound Listeners; Start serves it.
func NewServer(o ServerOptions) *Server {
	s := &Server{o: o}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/node", func(w http.ResponseWriter, _ *http.Request) {
		info := o.Node
		if o.Listening != nil {
			info.Listening = o.Listening()
		}
		writeJSON(w, http.StatusOK, info)
	})
	mux.HandleFunc("GET /v1/plugins", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, o.Plugins.Status()) })
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, o.Plugins.Events()) })
	for _, mount := range o.Routes {
		mount(mux)
	}
	s.http = &http.Server{Handler: s.auth(mux), ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: o.Logger.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})}
	return s
}

// auth requires the bearer token on every request.
func (s *Server) auth(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.o.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeJSON(w, http.StatusUnauthorized, errorBody{Error: "missing or wrong API token (see api.token in the data directory; a new one is made at every start)"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Start serves on the TCP address and the Unix socket in the background.
func (s *Server) Start() {
	for _, ln := range []net.Listener{s.o.Listeners.tcp, s.o.Listeners.unix} {
		go func() {
			if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.o.Logger.Error("local API stopped", "address", ln.Addr().String(), "error", err)
			}
		}()
	}
}

// Shutdown stops serving, letting requests in flight finish, and removes
// the socket.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }

// isConnRefused tells "nothing listens there" from other failures.
func isConnRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) || errors.Is(err, net.ErrClosed)
}
