package api

// Routes of the hub capability: the login, its status, lookup, search and
// the published profile.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/dpc-go/dpc/host/internal/hubsvc"
	"github.com/dpc-go/dpc/sdk"
)

// hubWait bounds one call to the hub.
const hubWait = 30 * time.Second

// HubPeer is one node as the hub knows it (a hint, not a proof).
type HubPeer struct {
	NodeID   string    `json:"node_id"`
	Name     string    `json:"name,omitempty"`
	Online   bool      `json:"online"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	// URIs are the node's direct dpc:// URIs, as it published them.
	URIs []string `json:"uris,omitempty"`
	// Profile is the rest of what it published.
	Profile hubsvc.Profile `json:"profile"`
}

// HubSearch is what GET /v1/hub/search answers.
type HubSearch struct {
	Peers []HubPeer `json:"peers"`
}

// HubProfile is what GET /v1/hub/profile answers: what publishing sends.
type HubProfile struct {
	Profile hubsvc.Profile `json:"profile"`
	URIs    []string       `json:"uris"`
}

func hubPeer(r sdk.PeerRecord) HubPeer {
	p := HubPeer{NodeID: r.NodeID, Online: r.Online, LastSeen: r.LastSeen, URIs: r.URIs}
	if len(r.ProfileJSON) > 0 {
		// What a hub says is a hint; an unreadable profile is shown empty.
		if err := json.Unmarshal(r.ProfileJSON, &p.Profile); err == nil {
			p.Name = p.Profile.Name
		}
	}
	return p
}

// writeHubError maps the hub service's errors to HTTP statuses.
func writeHubError(w http.ResponseWriter, err error) {
	code := http.StatusBadGateway
	switch {
	case errors.Is(err, hubsvc.ErrNoHub), errors.Is(err, hubsvc.ErrNotLoggedIn), errors.Is(err, hubsvc.ErrHubNotRunning):
		code = http.StatusConflict
	case errors.Is(err, sdk.ErrInvalidArgument):
		code = http.StatusBadRequest
	case errors.Is(err, sdk.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, sdk.ErrUnsupported):
		code = http.StatusNotImplemented
	case errors.Is(err, sdk.ErrPermissionDenied):
		code = http.StatusForbidden
	}
	writeJSON(w, code, errorBody{Error: err.Error()})
}

// HubRoutes are GET /v1/hub, POST /v1/hub/login and /v1/hub/logout,
// GET /v1/hub/peers/{id}, GET /v1/hub/search?q=&limit=, GET /v1/hub/profile
// and POST /v1/hub/profile (publish), and the linked accounts (accounts.go).
func HubRoutes(h *hubsvc.Service) Routes {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /v1/hub", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, h.State())
		})
		mux.HandleFunc("POST /v1/hub/login", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), hubWait)
			defer cancel()
			st, err := h.Login(ctx)
			if err != nil {
				writeHubError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, st)
		})
		mux.HandleFunc("POST /v1/hub/logout", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), hubWait)
			defer cancel()
			st, err := h.Logout(ctx)
			if err != nil {
				writeHubError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, st)
		})
		mux.HandleFunc("GET /v1/hub/peers/{id}", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), hubWait)
			defer cancel()
			p, err := h.Lookup(ctx, r.PathValue("id"))
			if err != nil {
				writeHubError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, hubPeer(p))
		})
		mux.HandleFunc("GET /v1/hub/search", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), hubWait)
			defer cancel()
			limit := 0
			if l := r.URL.Query().Get("limit"); l != "" {
				n, err := strconv.Atoi(l)
				if err != nil || n < 0 {
					writeJSON(w, http.StatusBadRequest, errorBody{Error: "limit must be a whole number, 0 or more"})
					return
				}
				limit = n
			}
			peers, err := h.Search(ctx, r.URL.Query().Get("q"), limit)
			if err != nil {
				writeHubError(w, err)
				return
			}
			out := HubSearch{Peers: []HubPeer{}}
			for _, p := range peers {
				out.Peers = append(out.Peers, hubPeer(p))
			}
			writeJSON(w, http.StatusOK, out)
		})
		mux.HandleFunc("GET /v1/hub/profile", func(w http.ResponseWriter, _ *http.Request) {
			req, err := h.ProfileRequest()
			if err != nil {
				writeHubError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, hubProfile(req))
		})
		mux.HandleFunc("POST /v1/hub/profile", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), hubWait)
			defer cancel()
			req, err := h.Publish(ctx)
			if err != nil {
				writeHubError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, hubProfile(req))
		})
		hubAccountRoutes(mux, h)
	}
}

func hubProfile(req sdk.PublishPresenceRequest) HubProfile {
	out := HubProfile{URIs: req.URIs}
	_ = json.Unmarshal(req.ProfileJSON, &out.Profile)
	if out.URIs == nil {
		out.URIs = []string{}
	}
	return out
}
