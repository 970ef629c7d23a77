package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dpc-go/dpc/sdk/dpcuri"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/files"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
)

// ConnectRequest is the body of POST /v1/peers.
type ConnectRequest struct {
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

// FirewallStatus is what GET /v1/firewall answers.
type FirewallStatus struct {
	// Path is the firewall file.
	Path string `json:"path"`
	// Error says why the file as it is now is not in force (the previous
	// rules are), with file:line:column for each problem; empty when the
	// rules in force are the file's.
	Error string `json:"error,omitempty"`
}

// connectWait bounds how long POST /v1/peers waits for the first attempt.
const connectWait = 25 * time.Second

func registerNetwork(mux *http.ServeMux, n *network.Network, home string, log hclog.Logger) {
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
	mux.HandleFunc("GET /v1/firewall", func(w http.ResponseWriter, _ *http.Request) {
		fw := n.Firewall()
		st := FirewallStatus{Path: fw.Path()}
		if err := fw.LastError(); err != nil {
			st.Error = err.Error()
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("GET /v1/firewall/check", func(w http.ResponseWriter, r *http.Request) {
		node, res := r.URL.Query().Get("node"), r.URL.Query().Get("resource")
		if !dpcuri.ValidNodeID(node) {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("%q is not a node_id: want %q followed by 32 hex digits (0-9, a-f)", node, dpcuri.NodeIDPrefix)})
			return
		}
		if err := firewall.ValidateResource(res); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, n.Check(node, res))
	})
	mux.HandleFunc("GET /v1/stream", func(w http.ResponseWriter, r *http.Request) {
		// Subscribed before the handshake ends: a client that saw it
		// succeed gets every event published after (see Client.Events).
		events, done := n.Bus().Subscribe()
		defer done()
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := c.CloseRead(r.Context())
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-events:
				if err := wsjson.Write(ctx, c, e); err != nil {
					log.Debug("event stream ended", "error", err)
					return
				}
			}
		}
	})
}

// maxBody bounds request bodies (a message is at most 64 KiB of text).
const maxBody = 256 << 10

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "bad request body: " + err.Error()})
		return false
	}
	return true
}

// writeError maps an error to its HTTP status.
func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, chat.ErrInvalidMessage), errors.Is(err, network.ErrSelf),
		errors.Is(err, ErrBadQuery), errors.Is(err, chat.ErrBadCursor),
		errors.Is(err, dpcuri.ErrInvalidURI),
		errors.Is(err, files.ErrInvalidFile), errors.Is(err, network.ErrV1Off):
		code = http.StatusBadRequest
	case errors.Is(err, network.ErrWrongPeer), errors.Is(err, session.ErrV1Downgrade), errors.Is(err, files.ErrNotWaiting):
		code = http.StatusConflict
	case errors.Is(err, peers.ErrUnknownPeer), errors.Is(err, files.ErrNotFound):
		code = http.StatusNotFound
	}
	writeJSON(w, code, errorBody{Error: err.Error()})
}
