package api

// Routes of the firewall: its state and what it decides.

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/intel"
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

// FirewallFile is what GET /v1/firewall/rules answers, and PUT once it
// saved: the firewall file's text.
type FirewallFile struct {
	Path string `json:"path"`
	Text string `json:"text"`
	// Hash names the version (the SHA-256 of Text; "" when there is no
	// file): an edit sends it back (FirewallEdit.Hash).
	Hash string `json:"hash"`
	// Error says why the file as it is now is not in force (the previous
	// rules are), with line:column for each problem.
	Error string `json:"error,omitempty"`
}

// FirewallEdit is the body of PUT /v1/firewall/rules.
type FirewallEdit struct {
	// Text is the whole new firewall.hcl.
	Text string `json:"text"`
	// Hash is the version the edit started from (FirewallFile.Hash): if the
	// file changed since, the edit is refused with 409.
	Hash string `json:"hash"`
	// DryRun only checks Text: 200 with {"valid": true}, or 400 with the
	// problems, and nothing is saved.
	DryRun bool `json:"dry_run,omitempty"`
}

// PreviewRequest is the body of POST /v1/firewall/preview.
type PreviewRequest struct {
	// Peer is the node_id whose view to show.
	Peer string `json:"peer"`
	// Rules is an unsaved firewall.hcl to preview; absent (null): the
	// rules in force.
	Rules *string `json:"rules,omitempty"`
}

// Access is one resource a peer may or may not use, and the rule that
// decides it.
type Access struct {
	Resource string `json:"resource"`
	Allowed  bool   `json:"allowed"`
	Rule     string `json:"rule"`
}

// PeerPreview is what POST /v1/firewall/preview answers: what the peer
// would get from this node under the rules.
type PeerPreview struct {
	Peer string `json:"peer"`
	// Context is the part of the personal context the peer would be sent;
	// Paths its fields two levels deep.
	Context map[string]any `json:"context"`
	Paths   []string       `json:"paths"`
	// Resources are the decisions on messages, files, history, compute and
	// channel invitations.
	Resources []Access `json:"resources"`
	// Models are the models ("provider/id") it could run prompts on.
	Models []string `json:"models"`
}

// PeerViewer computes what a peer sees under a version of the rules;
// *intel.Responder implements it with the code that answers peers.
type PeerViewer interface {
	ViewUnder(ctx context.Context, rules *firewall.Rules, peer string) intel.PeerView
}

// FirewallEditRoutes are the web UI's firewall editor: GET and PUT
// /v1/firewall/rules and POST /v1/firewall/preview. PUT checks the text
// with firewall.Parse and saves it through the engine (firewall.Engine.Write:
// written atomically and in force at once, as when the file watcher reloads
// it, which tells the peers whose view changed); the preview is computed by
// the code that answers peers, under the rules in force or an unsaved text.
func FirewallEditRoutes(fw *firewall.Engine, viewer PeerViewer) Routes {
	current := func() (FirewallFile, error) {
		text, hash, err := fw.File()
		if err != nil {
			return FirewallFile{}, err
		}
		f := FirewallFile{Path: fw.Path(), Text: string(text), Hash: hash}
		if err := fw.LastError(); err != nil {
			f.Error = err.Error()
		}
		return f, nil
	}
	return func(mux *http.ServeMux) {
		mux.HandleFunc("GET /v1/firewall/rules", func(w http.ResponseWriter, _ *http.Request) {
			f, err := current()
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, f)
		})
		mux.HandleFunc("PUT /v1/firewall/rules", func(w http.ResponseWriter, r *http.Request) {
			var e FirewallEdit
			if !readJSONUpTo(w, r, &e, maxFileBody) {
				return
			}
			if _, err := fw.Candidate([]byte(e.Text)); err != nil {
				writeInvalid(w, err)
				return
			}
			if e.DryRun {
				writeJSON(w, http.StatusOK, Checked{Valid: true})
				return
			}
			if err := fw.Write([]byte(e.Text), e.Hash); err != nil {
				if errors.Is(err, firewall.ErrChanged) {
					writeJSON(w, http.StatusConflict, errorBody{Error: err.Error()})
					return
				}
				writeError(w, err)
				return
			}
			f, err := current()
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, f)
		})
		mux.HandleFunc("POST /v1/firewall/preview", func(w http.ResponseWriter, r *http.Request) {
			var q PreviewRequest
			if !readJSONUpTo(w, r, &q, maxFileBody) {
				return
			}
			if !dpcuri.ValidNodeID(q.Peer) {
				writeJSON(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("\"peer\" %q is not a node_id: want %q followed by 32 hex digits (0-9, a-f)", q.Peer, dpcuri.NodeIDPrefix)})
				return
			}
			rules := fw.Rules()
			if q.Rules != nil {
				var err error
				if rules, err = fw.Candidate([]byte(*q.Rules)); err != nil {
					writeInvalid(w, err)
					return
				}
			}
			v := viewer.ViewUnder(r.Context(), rules, q.Peer)
			p := PeerPreview{Peer: q.Peer, Context: v.Context, Paths: v.Paths, Resources: []Access{}, Models: []string{}}
			for _, d := range v.Resources {
				p.Resources = append(p.Resources, Access{Resource: d.Resource, Allowed: d.Allowed, Rule: d.Rule})
			}
			for _, m := range v.Models {
				p.Models = append(p.Models, m.Alias+"/"+m.Model)
			}
			writeJSON(w, http.StatusOK, p)
		})
	}
}
