package api

// The event stream: what the node's bus publishes, over a WebSocket.

import (
	"net/http"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/network"
)

// StreamRoutes are GET /v1/stream.
func StreamRoutes(bus *network.Bus, log hclog.Logger) Routes {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /v1/stream", func(w http.ResponseWriter, r *http.Request) {
			// Subscribed before the handshake ends: a client that saw it
			// succeed gets every event published after (see Client.Events).
			events, done := bus.Subscribe()
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
}
