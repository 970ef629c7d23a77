package api

// Routes of the hub's linked accounts: an identity-provider account linked
// to the node's node_id, an extra fact about the node (it still logs in
// with its key).

import (
	"context"
	"net/http"
	"time"

	"github.com/dpc-go/dpc/host/internal/hubsvc"
)

// HubAccounts is what GET /v1/hub/accounts answers.
type HubAccounts struct {
	// Required: the hub refuses most of what a node with no linked account
	// asks (it is not listed, cannot signal).
	Required  bool          `json:"required"`
	Providers []HubProvider `json:"providers"`
	Accounts  []HubAccount  `json:"accounts"`
}

// HubProvider is an identity provider the hub offers.
type HubProvider struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	// Kind is "github", "google" or "oidc".
	Kind string `json:"kind"`
}

// HubAccount is an account linked to this node.
type HubAccount struct {
	Provider string    `json:"provider"`
	Subject  string    `json:"subject"`
	Email    string    `json:"email,omitempty"`
	Name     string    `json:"name,omitempty"`
	LinkedAt time.Time `json:"linked_at,omitzero"`
}

// HubLinkRequest is what POST /v1/hub/link takes.
type HubLinkRequest struct {
	Provider string `json:"provider"`
}

// HubLink is what POST /v1/hub/link answers: the address for the user's
// browser, single-use and bound to this node.
type HubLink struct {
	Provider string    `json:"provider"`
	URL      string    `json:"url"`
	Expires  time.Time `json:"expires"`
}

// hubAccountRoutes mounts GET /v1/hub/accounts, POST /v1/hub/link
// {provider} and DELETE /v1/hub/accounts/{provider}.
func hubAccountRoutes(mux *http.ServeMux, h *hubsvc.Service) {
	mux.HandleFunc("GET /v1/hub/accounts", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), hubWait)
		defer cancel()
		res, err := h.Accounts(ctx)
		if err != nil {
			writeHubError(w, err)
			return
		}
		out := HubAccounts{Required: res.Required, Providers: []HubProvider{}, Accounts: []HubAccount{}}
		for _, p := range res.Providers {
			out.Providers = append(out.Providers, HubProvider{Name: p.Name, DisplayName: p.DisplayName, Kind: p.Kind})
		}
		for _, a := range res.Accounts {
			out.Accounts = append(out.Accounts, HubAccount{Provider: a.Provider, Subject: a.Subject, Email: a.Email, Name: a.Name, LinkedAt: a.LinkedAt})
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /v1/hub/link", func(w http.ResponseWriter, r *http.Request) {
		var req HubLinkRequest
		if !readJSON(w, r, &req) {
			return
		}
		if req.Provider == "" {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: `the body must name the provider: {"provider": NAME}; dpc hub accounts lists them`})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), hubWait)
		defer cancel()
		res, err := h.LinkAccount(ctx, req.Provider)
		if err != nil {
			writeHubError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, HubLink{Provider: req.Provider, URL: res.URL, Expires: res.Expires})
	})
	mux.HandleFunc("DELETE /v1/hub/accounts/{provider}", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), hubWait)
		defer cancel()
		if err := h.UnlinkAccount(ctx, r.PathValue("provider")); err != nil {
			writeHubError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
