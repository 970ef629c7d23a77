package api

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/plugins"
	"github.com/dpc-go/dpc/host/internal/webui"
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
	// URIs are the dpc:// addresses of Listening, for a contact to dial.
	URIs []string `json:"uris"`
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
	// UI serves the web UI's pages and assets (GET /, no login needed to
	// load them: they hold no data); nil serves none.
	UI http.Handler
}

// Routes mount one capability's routes: each file of this package that
// serves a capability (peers.go, chat.go, files.go, …) makes one, and the
// node picks what to mount.
type Routes func(mux *http.ServeMux)

// Server is the local API server.
type Server struct {
	o       ServerOptions
	http    *http.Server
	browser *browserSessions
	origin  browserOrigin
}

// NewServer builds the server on bound Listeners; Start serves it.
func NewServer(o ServerOptions) (*Server, error) {
	origin, err := newBrowserOrigin(o.Listeners.TCPAddr())
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, browser: newBrowserSessions(), origin: origin}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/node", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.nodeInfo()) })
	// The QR code of the first dpc:// address (or the bare node_id when no
	// transport listens), for a phone to scan.
	mux.HandleFunc("GET /v1/node/qr.svg", func(w http.ResponseWriter, _ *http.Request) {
		info := s.nodeInfo()
		text := info.NodeID
		if len(info.URIs) > 0 {
			text = info.URIs[0]
		}
		svg, err := webui.QRCodeSVG(text)
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(svg)
	})
	mux.HandleFunc("GET /v1/plugins", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, o.Plugins.Status()) })
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, o.Plugins.Events()) })
	s.browserRoutes(mux)
	for _, mount := range o.Routes {
		mount(mux)
	}
	if o.UI != nil {
		mux.Handle("GET /", o.UI)
	}
	s.http = &http.Server{Handler: s.auth(mux), ReadHeaderTimeout: 5 * time.Second,
		ConnContext: tagSocket,
		ErrorLog:    o.Logger.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})}
	return s, nil
}

type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// nodeInfo is the node's identity with what it listens on right now.
func (s *Server) nodeInfo() NodeInfo {
	info := s.o.Node
	if s.o.Listening != nil {
		info.Listening = s.o.Listening()
	}
	info.URIs = network.ListeningURIs(info.Listening, info.NodeID)
	if info.URIs == nil {
		info.URIs = []string{}
	}
	return info
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
