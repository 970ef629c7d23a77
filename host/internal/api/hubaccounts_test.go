package api

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/hubsvc"
	"github.com/dpc-go/dpc/host/internal/store"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/pluginhost"
)

// accountsHub is a logged-in hub plugin offering corp, with unlink of
// anything else not found; oauth false makes it a hub without accounts.
type accountsHub struct {
	sdk.Hub
	oauth bool
}

func (h accountsHub) Login(context.Context) (sdk.LoginResult, error) {
	return sdk.LoginResult{Session: sdk.HubSession{Data: []byte("s"), Expires: time.Now().Add(time.Hour)}}, nil
}
func (h accountsHub) PublishPresence(context.Context, sdk.PublishPresenceRequest) error { return nil }
func (h accountsHub) Signals(ctx context.Context, _ func(sdk.IncomingSignal) error) error {
	<-ctx.Done()
	return ctx.Err()
}

func (h accountsHub) Accounts(context.Context) (sdk.AccountsResult, error) {
	if !h.oauth {
		return sdk.AccountsResult{}, fmt.Errorf("%w: the hub at https://hub.example does not link accounts", sdk.ErrUnsupported)
	}
	return sdk.AccountsResult{Required: true, Providers: []sdk.AccountProvider{{Name: "corp", DisplayName: "Corp SSO", Kind: "oidc"}},
		Accounts: []sdk.Account{{Provider: "corp", Subject: "u-1", Email: "alice@example.org", LinkedAt: time.Unix(1_800_000_000, 0)}}}, nil
}

func (h accountsHub) LinkAccount(_ context.Context, req sdk.LinkAccountRequest) (sdk.LinkAccountResult, error) {
	if req.Provider != "corp" {
		return sdk.LinkAccountResult{}, fmt.Errorf("%w: the hub offers: corp", sdk.ErrNotFound)
	}
	return sdk.LinkAccountResult{URL: "https://hub.example/oauth/corp/start?ticket=T", Expires: time.Unix(1_800_000_600, 0)}, nil
}

func (h accountsHub) UnlinkAccount(_ context.Context, req sdk.UnlinkAccountRequest) error {
	if req.Provider != "corp" {
		return fmt.Errorf("%w: no account of %s is linked", sdk.ErrNotFound, req.Provider)
	}
	return nil
}

type hubPlugins struct{ hub sdk.Hub }

func (p hubPlugins) OfKind(k sdk.Kind) []string {
	if k == sdk.KindHub {
		return []string{"hub/hub"}
	}
	return nil
}
func (p hubPlugins) Client(string) (*pluginhost.Client, bool) {
	return &pluginhost.Client{Hub: p.hub}, true
}
func (p hubPlugins) DeliverHubSignal(context.Context, sdk.Signal) int { return 0 }

// hubService runs a hub service over hub, logged in when login.
func hubService(t *testing.T, hub sdk.Hub, login bool) *hubsvc.Service {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	s, err := hubsvc.New(hubsvc.Options{Store: st, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	s.Start(context.Background(), hubPlugins{hub})
	if login {
		if _, err := s.Login(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestHubAccountRoutes: the account routes answer what the hub plugin
// says, with the status that tells a client what went wrong.
func TestHubAccountRoutes(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		oauth, login bool
		method, path string
		body         string
		want         int
		says         string
	}{
		"accounts":                        {oauth: true, login: true, method: http.MethodGet, path: "/v1/hub/accounts", want: http.StatusOK, says: `"subject":"u-1"`},
		"accounts before login":           {oauth: true, method: http.MethodGet, path: "/v1/hub/accounts", want: http.StatusConflict, says: "dpc hub login"},
		"accounts on a hub without":       {login: true, method: http.MethodGet, path: "/v1/hub/accounts", want: http.StatusNotImplemented, says: "does not link accounts"},
		"link":                            {oauth: true, login: true, method: http.MethodPost, path: "/v1/hub/link", body: `{"provider":"corp"}`, want: http.StatusOK, says: `"url":"https://hub.example/oauth/corp/start?ticket=T"`},
		"link of an unknown provider":     {oauth: true, login: true, method: http.MethodPost, path: "/v1/hub/link", body: `{"provider":"gitlab"}`, want: http.StatusNotFound, says: "offers: corp"},
		"link without a provider":         {oauth: true, login: true, method: http.MethodPost, path: "/v1/hub/link", body: `{}`, want: http.StatusBadRequest, says: "name the provider"},
		"unlink":                          {oauth: true, login: true, method: http.MethodDelete, path: "/v1/hub/accounts/corp", want: http.StatusNoContent},
		"unlink of an account not linked": {oauth: true, login: true, method: http.MethodDelete, path: "/v1/hub/accounts/github", want: http.StatusNotFound, says: "no account of github"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr, tok := serveWith(t, t.TempDir(), HubRoutes(hubService(t, accountsHub{oauth: tc.oauth}, tc.login)))
			req, _ := http.NewRequest(tc.method, "http://"+addr+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.want || !strings.Contains(string(body), tc.says) {
				t.Errorf("%s %s: got %d %s, want %d saying %q", tc.method, tc.path, resp.StatusCode, body, tc.want, tc.says)
			}
			if tc.want == http.StatusOK && tc.path == "/v1/hub/accounts" {
				var got HubAccounts
				if err := json.Unmarshal(body, &got); err != nil || !got.Required || len(got.Providers) != 1 || got.Providers[0].DisplayName != "Corp SSO" {
					t.Errorf("accounts: %+v (%v)", got, err)
				}
			}
		})
	}
}
