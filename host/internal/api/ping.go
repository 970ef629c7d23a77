package api

// Routes of the ping capability: the round trip to a connected peer.

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/ping"
)

// RTT is what GET /v1/peers/{id}/rtt answers.
type RTT struct {
	Peer string `json:"peer"`
	// Millis is the round trip of one PING, in milliseconds.
	Millis float64 `json:"rtt_ms"`
}

// rttWait bounds the wait for a PONG.
const rttWait = 10 * time.Second

// PingRoutes are GET /v1/peers/{id}/rtt, served by the ping service.
func PingRoutes(p *ping.Service) Routes {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /v1/peers/{id}/rtt", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), rttWait)
			defer cancel()
			peer := r.PathValue("id")
			d, err := p.RTT(ctx, peer)
			switch {
			case errors.Is(err, network.ErrPeerOffline), errors.Is(err, ping.ErrV1):
				writeJSON(w, http.StatusConflict, errorBody{Error: err.Error()})
			case errors.Is(err, network.ErrNoAnswer):
				writeJSON(w, http.StatusGatewayTimeout, errorBody{Error: err.Error()})
			case err != nil:
				writeJSON(w, http.StatusBadGateway, errorBody{Error: err.Error()})
			default:
				writeJSON(w, http.StatusOK, RTT{Peer: peer, Millis: float64(d.Microseconds()) / 1000})
			}
		})
	}
}
