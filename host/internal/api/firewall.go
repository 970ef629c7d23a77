package api

// Routes of the firewall: its state and what it decides.

import (
	"fmt"
	"net/http"

	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// FirewallStatus is what GET /v1/firewall answers.
type FirewallStatus struct {
	// Path is the firewall file.
	Path string `json:"path"`
	// Error says why the file as it is now is not in force (the previous
	// rules are), with file:line:column for each problem; empty when the
	// rules in force are the file's.
	Error string `json:"error,omitempty"`
}

// FirewallRoutes are /v1/firewall and /v1/firewall/check; check decides
// for a node and a resource as the network does.
func FirewallRoutes(fw *firewall.Engine, check func(node, resource string) firewall.Decision) Routes {
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /v1/firewall", func(w http.ResponseWriter, _ *http.Request) {
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
			writeJSON(w, http.StatusOK, check(node, res))
		})
	}
}
