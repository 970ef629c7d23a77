package hubdpc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/hublogin"
)

// fakeHub speaks the hub's account-linking contract (/work/notes/oauth-api.md:
// /oauth/providers, /oauth/link, /accounts, --require-oauth's 403
// account_required, the signaling socket's reconnect hint) and just enough
// of the rest (login, refresh, /ws/signal) for a node to use it. It does not
// verify the login signature: that is the real hub's part, tested elsewhere.
type fakeHub struct {
	srv  *httptest.Server
	base string

	mu sync.Mutex
	// oauth is false for a hub that runs without OAuth.
	oauth    bool
	required bool
	// accounts are the linked accounts of the logged-in node.
	accounts []map[string]any
	nodeID   string
	// linkURL, when set, replaces the hub's own link address.
	linkURL string
	// onSocket runs on each accepted signaling socket after auth_ok; n
	// counts the sockets from 1.
	onSocket func(ctx context.Context, conn *websocket.Conn, n int)
	sockets  int
}

func newFakeHub(t *testing.T) *fakeHub {
	t.Helper()
	h := &fakeHub{oauth: true}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	base, err := hublogin.CanonicalURL(h.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	h.base = base
	return h
}

// link records an account as the callback of a finished browser flow does.
func (h *fakeHub) link(provider, subject, email string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.accounts = append(h.accounts, map[string]any{"provider": provider, "subject": subject, "email": email,
		"name": "Alice", "linked_at": time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)})
}

func hubErr(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "detail": detail})
}

func hubJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

var fakeProviders = []map[string]string{
	{"name": "github", "display_name": "GitHub", "kind": "github"},
	{"name": "corp", "display_name": "Corp SSO", "kind": "oidc"},
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	route := r.Method + " " + r.URL.Path
	switch route {
	case "POST /login/challenge":
		hubJSON(w, map[string]string{"nonce": "bm9uY2Utb2YtdGhlLWZha2UtaHVi", "audience": h.base, "purpose": sdk.PurposeHubLogin})
		return
	case "POST /login":
		var body struct {
			NodeID string `json:"node_id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		h.nodeID = body.NodeID
		fallthrough
	case "POST /refresh":
		hubJSON(w, map[string]any{"node_id": h.nodeID, "access_token": "access", "token_type": "Bearer", "expires_in": 3600,
			"refresh_token": "refresh", "refresh_expires_in": 86400})
		return
	case "GET /oauth/providers":
		if !h.oauth {
			hubErr(w, http.StatusNotFound, "oauth_disabled", "this hub does not link accounts")
			return
		}
		hubJSON(w, map[string]any{"providers": fakeProviders, "required": h.required})
		return
	}
	if r.Header.Get("Authorization") != "Bearer access" {
		hubErr(w, http.StatusUnauthorized, "invalid_token", "no access token")
		return
	}
	switch {
	case route == "POST /oauth/link":
		if !h.oauth {
			hubErr(w, http.StatusNotFound, "oauth_disabled", "this hub does not link accounts")
			return
		}
		var body struct {
			Provider string `json:"provider"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.Provider != "github" && body.Provider != "corp" {
			hubErr(w, http.StatusNotFound, "unknown_provider", "no provider "+body.Provider+" (this hub offers: github, corp)")
			return
		}
		u := h.linkURL
		if u == "" {
			u = h.base + "/oauth/" + body.Provider + "/start?ticket=T1"
		}
		hubJSON(w, map[string]any{"provider": body.Provider, "url": u, "expires_at": time.Now().Add(10 * time.Minute), "expires_in": 600})
	case route == "GET /accounts":
		if !h.oauth {
			hubErr(w, http.StatusNotFound, "oauth_disabled", "this hub does not link accounts")
			return
		}
		hubJSON(w, map[string]any{"node_id": h.nodeID, "required": h.required, "accounts": append([]map[string]any{}, h.accounts...)})
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/accounts/"):
		provider := strings.TrimPrefix(r.URL.Path, "/accounts/")
		kept := h.accounts[:0]
		for _, a := range h.accounts {
			if a["provider"] != provider {
				kept = append(kept, a)
			}
		}
		if len(kept) == len(h.accounts) {
			hubErr(w, http.StatusNotFound, "not_found", "no account of "+provider+" is linked")
			return
		}
		h.accounts = kept
		w.WriteHeader(http.StatusNoContent)
	case h.required && len(h.accounts) == 0:
		hubErr(w, http.StatusForbidden, "account_required", "this hub requires a linked account: run dpc hub link PROVIDER (providers: github, corp)")
	case route == "GET /ws/signal":
		h.sockets++
		n, onSocket, nodeID := h.sockets, h.onSocket, h.nodeID
		h.mu.Unlock()
		defer h.mu.Lock()
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		ok, _ := json.Marshal(map[string]string{"type": "auth_ok", "node_id": nodeID})
		if conn.Write(r.Context(), websocket.MessageText, ok) != nil {
			return
		}
		if onSocket != nil {
			onSocket(r.Context(), conn, n)
		}
		for { // hold the socket until the node or the test closes it
			if _, _, err := conn.Read(r.Context()); err != nil {
				return
			}
		}
	default:
		hubErr(w, http.StatusNotFound, "not_found", "the fake hub has no "+route)
	}
}
