package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/intel"
	"github.com/dpc-go/dpc/host/internal/llm"
)

// Asker answers questions; *intel.Asker implements it.
type Asker interface {
	Ask(ctx context.Context, req intel.Request, emit func(intel.Event)) error
}

// Models lists the local models; *llm.Registry implements it.
type Models interface {
	Models(ctx context.Context) []llm.Model
}

// IntelRoutes are POST /v1/ask and GET /v1/models.
//
// POST /v1/ask answers with newline-delimited JSON (application/x-ndjson):
// one intel.Event per line as the answer is made, the last one "done", or
// "error" with the reason no answer came.
func IntelRoutes(a Asker, m Models, log hclog.Logger) Routes {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("POST /v1/ask", func(w http.ResponseWriter, r *http.Request) {
			var req intel.Request
			if !readJSON(w, r, &req) {
				return
			}
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			enc := json.NewEncoder(w)
			flusher, _ := w.(http.Flusher)
			emit := func(e intel.Event) {
				if err := enc.Encode(e); err != nil {
					return // the client went away; r.Context() ends the ask
				}
				if flusher != nil {
					flusher.Flush()
				}
			}
			if err := a.Ask(r.Context(), req, emit); err != nil {
				if !errors.Is(err, context.Canceled) {
					log.Info("ask failed", "error", err)
				}
				emit(intel.Event{Type: "error", Text: err.Error()})
			}
		})
		mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
			list := m.Models(r.Context())
			if list == nil {
				list = []llm.Model{}
			}
			writeJSON(w, http.StatusOK, list)
		})
	}
}
