package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/hubsvc"
	"github.com/dpc-go/dpc/host/internal/plugins"
	"github.com/dpc-go/dpc/host/internal/store"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/pluginhost"
)

const linkNodeID = "dpc-node-00000000000000000000000000000007"

// linkingHub is a logged-in hub plugin with identity providers: after
// LinkAccount, the next Accounts shows the account, as when the user has
// signed in in the browser.
type linkingHub struct {
	sdk.Hub
	providers []sdk.AccountProvider
	// expires is how long a link address lasts.
	expires time.Duration
	// never: the user never signs in.
	never bool

	mu       sync.Mutex
	accounts []sdk.Account
	pending  string
	linked   chan string
	// published counts the profile publications (one at login).
	published int
}

func (h *linkingHub) Login(context.Context) (sdk.LoginResult, error) {
	return sdk.LoginResult{Session: sdk.HubSession{Data: []byte("s"), Expires: time.Now().Add(time.Hour)}}, nil
}
func (h *linkingHub) PublishPresence(context.Context, sdk.PublishPresenceRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.published++
	return nil
}
func (h *linkingHub) Signals(ctx context.Context, _ func(sdk.IncomingSignal) error) error {
	<-ctx.Done()
	return ctx.Err()
}

func (h *linkingHub) Accounts(context.Context) (sdk.AccountsResult, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pending != "" && !h.never {
		h.accounts = append(h.accounts, sdk.Account{Provider: h.pending, Subject: "u-1", Email: "alice@example.org", LinkedAt: time.Now()})
		h.pending = ""
	}
	return sdk.AccountsResult{Required: true, Providers: h.providers, Accounts: append([]sdk.Account(nil), h.accounts...)}, nil
}

func (h *linkingHub) LinkAccount(_ context.Context, req sdk.LinkAccountRequest) (sdk.LinkAccountResult, error) {
	h.mu.Lock()
	h.pending = req.Provider
	h.mu.Unlock()
	h.linked <- req.Provider
	return sdk.LinkAccountResult{URL: "https://hub.example/oauth/" + req.Provider + "/start?ticket=T", Expires: time.Now().Add(h.expires)}, nil
}

func (h *linkingHub) UnlinkAccount(_ context.Context, req sdk.UnlinkAccountRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, a := range h.accounts {
		if a.Provider == req.Provider {
			h.accounts = append(h.accounts[:i], h.accounts[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("%w: no account of %s is linked to this node", sdk.ErrNotFound, req.Provider)
}

type linkingPlugins struct{ hub sdk.Hub }

func (p linkingPlugins) OfKind(k sdk.Kind) []string {
	if k == sdk.KindHub {
		return []string{"hub/hub"}
	}
	return nil
}
func (p linkingPlugins) Client(string) (*pluginhost.Client, bool) {
	return &pluginhost.Client{Hub: p.hub}, true
}
func (p linkingPlugins) DeliverHubSignal(context.Context, sdk.Signal) int { return 0 }
func (p linkingPlugins) Status() []plugins.Status                         { return nil }
func (p linkingPlugins) Events() []plugins.Event                          { return nil }

// hubNode serves the node's local API, with the real hub routes and
// service over hub (logged in), on the API socket of a fresh data
// directory.
func hubNode(t *testing.T, hub *linkingHub) home.Dir {
	t.Helper()
	d := home.Dir(filepath.Join(t.TempDir(), "home"))
	if _, err := run(t, "--home", d.String(), "init", "--name", "Gopher"); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	svc, err := hubsvc.New(hubsvc.Options{Store: st, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)
	svc.Start(context.Background(), linkingPlugins{hub})
	if _, err := svc.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	lns, err := api.Listen("127.0.0.1:0", d.APISocket())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := api.NewToken(d.APIToken())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.NewServer(api.ServerOptions{Listeners: lns, Token: tok, Logger: hclog.NewNullLogger(), Plugins: linkingPlugins{},
		Node: api.NodeInfo{NodeID: linkNodeID}, Routes: []api.Routes{api.HubRoutes(svc)}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return d
}

var (
	corp   = sdk.AccountProvider{Name: "corp", DisplayName: "Corp SSO", Kind: "oidc"}
	github = sdk.AccountProvider{Name: "github", DisplayName: "GitHub", Kind: "github"}
)

// TestHubLinkPrintsTheAddressAndWaits: dpc hub link picks the provider
// (the only one, or the one named; several need a choice), prints the
// hub's address with what it does, and waits until the account shows up.
func TestHubLinkPrintsTheAddressAndWaits(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		providers []sdk.AccountProvider
		expires   time.Duration
		never     bool
		args      []string
		wantErr   error
		want      []string
		notWant   string
		// wantPublished: the profile is published again once linked (the
		// hub, which requires an account, refused it at login).
		wantPublished bool
	}{
		"the only provider, waits until linked": {providers: []sdk.AccountProvider{corp}, args: []string{"hub", "link"},
			want: []string{"Open this address in your browser to link your Corp SSO account to node " + linkNodeID + "; it expires at ",
				"https://hub.example/oauth/corp/start?ticket=T", "linked: corp u-1 alice@example.org", "published its profile"}, wantPublished: true},
		"the named provider among several": {providers: []sdk.AccountProvider{github, corp}, args: []string{"hub", "link", "github"},
			want: []string{"your GitHub account", "linked: github u-1 alice@example.org"}},
		"--no-wait only prints": {providers: []sdk.AccountProvider{corp}, args: []string{"hub", "link", "--no-wait"},
			want: []string{"https://hub.example/oauth/corp/start?ticket=T", "dpc hub accounts shows the account"}, notWant: "linked:"},
		"several providers and none named": {providers: []sdk.AccountProvider{github, corp}, args: []string{"hub", "link"},
			wantErr: ErrChooseProvider, want: []string{"github (GitHub), corp (Corp SSO)", "dpc hub link PROVIDER"}},
		"a provider the hub does not offer": {providers: []sdk.AccountProvider{corp}, args: []string{"hub", "link", "gitlab"},
			wantErr: ErrChooseProvider, want: []string{`"gitlab"`, "corp (Corp SSO)"}},
		"the address expires first": {providers: []sdk.AccountProvider{corp}, never: true, args: []string{"hub", "link"},
			wantErr: ErrLinkExpired, want: []string{"run dpc hub link again"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			expires := 10 * time.Minute
			if tc.never {
				expires = 0 // already expired: the wait ends at once
			}
			hub := &linkingHub{providers: tc.providers, expires: expires, never: tc.never, linked: make(chan string, 1)}
			d := hubNode(t, hub)
			out, err := run(t, append([]string{"--home", d.String()}, tc.args...)...)
			text := out
			if err != nil {
				text += err.Error()
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("dpc %s: %v, want %v\n%s", strings.Join(tc.args, " "), err, tc.wantErr, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("dpc %s: want %q in\n%s", strings.Join(tc.args, " "), w, text)
				}
			}
			if tc.notWant != "" && strings.Contains(text, tc.notWant) {
				t.Errorf("dpc %s: want no %q in\n%s", strings.Join(tc.args, " "), tc.notWant, text)
			}
			hub.mu.Lock()
			published := hub.published
			hub.mu.Unlock()
			if tc.wantPublished && published != 2 {
				t.Errorf("dpc %s: the profile was published %d times, want at login and once linked", strings.Join(tc.args, " "), published)
			}
		})
	}
}

// lockedBuffer is an output a test reads while the command writes it;
// wrote ticks after each write.
type lockedBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.wrote <- struct{}{}:
	default:
	}
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestHubLinkStopsWaitingCleanly: ending the wait (Ctrl-C ends the
// command's context the same way) says the address stays valid and is no
// error.
func TestHubLinkStopsWaitingCleanly(t *testing.T) {
	t.Parallel()
	hub := &linkingHub{providers: []sdk.AccountProvider{corp}, expires: 10 * time.Minute, never: true, linked: make(chan string, 1)}
	d := hubNode(t, hub)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := lockedBuffer{wrote: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		root := NewRoot()
		root.SetArgs([]string{"--home", d.String(), "hub", "link"})
		root.SetOut(&out)
		root.SetErr(&out)
		done <- root.ExecuteContext(ctx)
	}()
	deadline := time.After(nodeWait)
	for !strings.Contains(out.String(), "https://hub.example/oauth/corp/start?ticket=T") { // printed: now it waits
		select {
		case <-out.wrote:
		case err := <-done:
			t.Fatalf("dpc hub link ended before waiting: %v\n%s", err, out.String())
		case <-deadline:
			t.Fatalf("dpc hub link never printed the address:\n%s", out.String())
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil || !strings.Contains(out.String(), "Stopped waiting. The address stays valid until") {
			t.Errorf("want a clean stop saying the address stays valid, got %v\n%s", err, out.String())
		}
	case <-time.After(nodeWait):
		t.Fatal("dpc hub link kept waiting after its context ended")
	}
}

// TestHubAccountsAndUnlink: dpc hub accounts shows whether the hub requires
// an account, the linked ones and the providers; --json keeps the shape in
// testdata/json/hub-accounts.json; dpc hub unlink removes one.
func TestHubAccountsAndUnlink(t *testing.T) {
	t.Parallel()
	hub := &linkingHub{providers: []sdk.AccountProvider{github, corp}, linked: make(chan string, 1)}
	d := hubNode(t, hub)
	out, err := run(t, "--home", d.String(), "hub", "accounts")
	if err != nil || !containsAll(out, "required   yes, and none is linked: run dpc hub link PROVIDER", "linked     none",
		"provider   github  GitHub (github)", "provider   corp  Corp SSO (oidc)") {
		t.Errorf("dpc hub accounts with none linked: %v\n%s", err, out)
	}
	hub.mu.Lock()
	hub.accounts = []sdk.Account{{Provider: "corp", Subject: "u-1", Email: "alice@example.org", Name: "Alice", LinkedAt: time.Now()}}
	hub.mu.Unlock()
	out, err = run(t, "--home", d.String(), "hub", "accounts")
	if err != nil || !containsAll(out, "required   yes\n", "linked     corp u-1 alice@example.org (Alice), since ") {
		t.Errorf("dpc hub accounts with corp linked: %v\n%s", err, out)
	}

	out, err = run(t, "--home", d.String(), "hub", "accounts", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, out)
	}
	got, _ := json.MarshalIndent(shape(doc), "", "  ")
	got = append(got, '\n')
	golden := filepath.Join("testdata", "json", "hub-accounts.json")
	if *updateGolden {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want, err := os.ReadFile(golden); err != nil || !bytes.Equal(got, want) {
		t.Errorf("dpc hub accounts --json: shape\n%s\nwant (%s)\n%s", got, golden, want)
	}

	if out, err := run(t, "--home", d.String(), "hub", "unlink", "corp"); err != nil || out != "unlinked: corp\n" {
		t.Errorf("dpc hub unlink corp: %q, %v", out, err)
	}
	if _, err := run(t, "--home", d.String(), "hub", "unlink", "corp"); err == nil || !strings.Contains(err.Error(), "no account of corp") {
		t.Errorf("dpc hub unlink of an account not linked: %v, want an error saying so", err)
	}
}
