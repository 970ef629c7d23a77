package api

// Routes of the network core: peers, contact requests, refused
// connections.

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/dpc-go/dpc/host/internal/network"
)

// ConnectRequest is the body of POST /v1/peers.
type ConnectRequest struct {
	// URI is a dpc:// URI, or a bare node_id (reached over any path).
	URI string `json:"uri"`
	// V1 marks the peer as a D-PC Messenger v1 node (dpc connect --v1).
	V1 bool `json:"v1,omitempty"`
}

// ConnectResponse says whether the first attempt to reach the peer worked;
// the peer is a contact either way and the node keeps trying.
type ConnectResponse struct {
	Peer  network.PeerStatus `json:"peer"`
	Error string             `json:"error,omitempty"`
}

// connectWait bounds how long POST /v1/peers waits for the first attempt.
const connectWait = 25 * time.Second

// PeerRoutes are /v1/peers and /v1/refusals, served by the network core.
func PeerRoutes(n *network.Network) Routes {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /v1/peers", func(w http.ResponseWriter, _ *http.Request) {
			list, err := n.Peers()
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, list)
		})
		mux.HandleFunc("GET /v1/refusals", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, n.Refusals())
		})
		mux.HandleFunc("POST /v1/peers", func(w http.ResponseWriter, r *http.Request) {
			var req ConnectRequest
			if !readJSON(w, r, &req) {
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), connectWait)
			defer cancel()
			st, err := n.Connect(ctx, req.URI, network.ConnectOptions{V1: req.V1})
			if st.NodeID == "" || errors.Is(err, network.ErrWrongPeer) {
				writeError(w, err)
				return
			}
			resp := ConnectResponse{Peer: st}
			if err != nil {
				resp.Error = err.Error()
			}
			writeJSON(w, http.StatusOK, resp)
		})
		mux.HandleFunc("DELETE /v1/peers/{id}", func(w http.ResponseWriter, r *http.Request) {
			if err := n.Remove(r.PathValue("id")); err != nil {
				writeError(w, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
		mux.HandleFunc("POST /v1/peers/{id}/accept", func(w http.ResponseWriter, r *http.Request) {
			st, err := n.Accept(r.PathValue("id"))
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, st)
		})
	}
}
