package hubsvc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// accountsHub is a hub plugin with linked accounts: its stream is refused
// (streamErr) and Accounts answers accounts.
type accountsHub struct {
	fakeHub
	streamErr error
	accounts  sdk.AccountsResult
	linked    chan string
	unlinked  chan string
	refused   chan struct{}
	// publishErr is what publishing the profile answers; published gets
	// the profiles it took.
	publishErr error
	published  chan sdk.PublishPresenceRequest
}

func (h *accountsHub) Signals(ctx context.Context, _ func(sdk.IncomingSignal) error) error {
	h.mu.Lock()
	err := h.streamErr
	h.mu.Unlock()
	if err == nil {
		return h.fakeHub.Signals(ctx, nil)
	}
	select {
	case h.refused <- struct{}{}:
	default: // nobody counts the later ones
	}
	return err
}

func (h *accountsHub) PublishPresence(_ context.Context, req sdk.PublishPresenceRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.publishErr == nil {
		select {
		case h.published <- req:
		default: // nobody counts the later ones
		}
	}
	return h.publishErr
}

func (h *accountsHub) Accounts(context.Context) (sdk.AccountsResult, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.accounts, nil
}

func (h *accountsHub) LinkAccount(_ context.Context, req sdk.LinkAccountRequest) (sdk.LinkAccountResult, error) {
	if req.Provider != "corp" {
		return sdk.LinkAccountResult{}, fmt.Errorf("%w: provider %s", sdk.ErrNotFound, req.Provider)
	}
	h.linked <- req.Provider
	return sdk.LinkAccountResult{URL: "https://hub.example/oauth/corp/start?ticket=T", Expires: time.Now().Add(10 * time.Minute)}, nil
}

func (h *accountsHub) UnlinkAccount(_ context.Context, req sdk.UnlinkAccountRequest) error {
	h.unlinked <- req.Provider
	return nil
}

func newAccountsHub() *accountsHub {
	return &accountsHub{fakeHub: fakeHub{resumed: make(chan sdk.HubSession, 8), signals: make(chan struct{}, 8)},
		linked: make(chan string, 1), unlinked: make(chan string, 1), refused: make(chan struct{}, 8), published: make(chan sdk.PublishPresenceRequest, 8)}
}

// TestAccountCallsNeedALoginAndReachTheHub: the account calls go to the
// hub plugin only while logged in, and carry what it answers.
func TestAccountCallsNeedALoginAndReachTheHub(t *testing.T) {
	t.Parallel()
	h := newAccountsHub()
	h.accounts = sdk.AccountsResult{Providers: []sdk.AccountProvider{{Name: "corp", DisplayName: "Corp SSO", Kind: "oidc"}}}
	s := newService(t, newStore(t), newKey(t))
	s.Start(context.Background(), fakeHubPlugins{h})
	ctx := context.Background()
	if _, err := s.Accounts(ctx); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("Accounts before login: want ErrNotLoggedIn, got %v", err)
	}
	if _, err := s.LinkAccount(ctx, "corp"); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("LinkAccount before login: want ErrNotLoggedIn, got %v", err)
	}
	if err := s.UnlinkAccount(ctx, "corp"); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("UnlinkAccount before login: want ErrNotLoggedIn, got %v", err)
	}
	if _, err := s.Login(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Accounts(ctx); err != nil || len(res.Providers) != 1 || res.Providers[0].Name != "corp" {
		t.Errorf("Accounts: want corp offered, got %+v (err %v)", res, err)
	}
	if l, err := s.LinkAccount(ctx, "corp"); err != nil || !strings.HasPrefix(l.URL, "https://hub.example/") || <-h.linked != "corp" {
		t.Errorf("LinkAccount: want the hub's address, got %+v (err %v)", l, err)
	}
	if _, err := s.LinkAccount(ctx, "gitlab"); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("LinkAccount of a provider the hub does not offer: want sdk.ErrNotFound, got %v", err)
	}
	if err := s.UnlinkAccount(ctx, "corp"); err != nil || <-h.unlinked != "corp" {
		t.Errorf("UnlinkAccount: %v", err)
	}
}

// TestStatusSaysAnAccountIsRequired: a hub that requires a linked account
// refuses the stream; the status then says so and what to run, instead of
// only that the stream ended.
func TestStatusSaysAnAccountIsRequired(t *testing.T) {
	t.Parallel()
	offered := []sdk.AccountProvider{{Name: "github"}, {Name: "corp"}}
	tests := map[string]struct {
		accounts sdk.AccountsResult
		says     []string
		not      string
	}{
		"required and none linked": {accounts: sdk.AccountsResult{Required: true, Providers: offered},
			says: []string{"requires an account linked to this node", "dpc hub link PROVIDER", "github, corp"}},
		"required and one linked": {accounts: sdk.AccountsResult{Required: true, Providers: offered, Accounts: []sdk.Account{{Provider: "corp", Subject: "u"}}},
			says: []string{"refused by the hub"}, not: "requires an account"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newAccountsHub()
			h.accounts = tc.accounts
			h.streamErr = fmt.Errorf("%w: refused by the hub", sdk.ErrPermissionDenied)
			s := newService(t, newStore(t), newKey(t))
			s.Start(context.Background(), fakeHubPlugins{h})
			if _, err := s.Login(context.Background()); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for s.State().Status != StatusHubOffline {
				if time.Now().After(deadline) {
					t.Fatalf("status %+v, want hub_offline", s.State())
				}
				time.Sleep(5 * time.Millisecond)
			}
			why := s.State().LastError
			for _, w := range tc.says {
				if !strings.Contains(why, w) {
					t.Errorf("why %q: want it to say %q", why, w)
				}
			}
			if tc.not != "" && strings.Contains(why, tc.not) {
				t.Errorf("why %q: must not say %q", why, tc.not)
			}
		})
	}
}

// TestLinkedAccountWakesTheStream: a node held off for want of a linked
// account tries again as soon as dpc hub link (which polls Accounts) sees
// the account, not after the retry wait.
func TestLinkedAccountWakesTheStream(t *testing.T) {
	t.Parallel()
	offered := []sdk.AccountProvider{{Name: "corp"}}
	h := newAccountsHub()
	h.accounts = sdk.AccountsResult{Required: true, Providers: offered}
	h.streamErr = fmt.Errorf("%w: refused by the hub", sdk.ErrPermissionDenied)
	s := newService(t, newStore(t), newKey(t))
	s.firstRetry = time.Hour // only a wake can bring the next try
	s.Start(context.Background(), fakeHubPlugins{h})
	if _, err := s.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-h.refused
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.State().LastError, "requires an account") {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v, want the missing account as the reason", s.State())
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.mu.Lock()
	h.streamErr = nil
	h.accounts = sdk.AccountsResult{Required: true, Providers: offered, Accounts: []sdk.Account{{Provider: "corp", Subject: "u"}}}
	h.mu.Unlock()
	if _, err := s.Accounts(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.signals: // the stream runs again
	case <-time.After(time.Minute):
		t.Fatal("the stream did not try again once the account was linked")
	}
}

// TestLoginSaysAnAccountIsRequired: dpc hub login on a hub that requires a
// linked account answers hub_offline with what to run, not online.
func TestLoginSaysAnAccountIsRequired(t *testing.T) {
	t.Parallel()
	h := newAccountsHub()
	h.accounts = sdk.AccountsResult{Required: true, Providers: []sdk.AccountProvider{{Name: "corp"}}}
	h.publishErr = fmt.Errorf("%w: refused by the hub", sdk.ErrPermissionDenied)
	h.streamErr = h.publishErr
	s := newService(t, newStore(t), newKey(t))
	s.Start(context.Background(), fakeHubPlugins{h})
	st, err := s.Login(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != StatusHubOffline || !strings.Contains(st.LastError, "dpc hub link PROVIDER (it offers: corp)") {
		t.Errorf("after login: %+v, want hub_offline saying to run dpc hub link", st)
	}
}

// TestHeldOffNodeDoesNotFlapOnline: a node the hub refuses for want of a
// linked account is not shown online (nor redials its peers) for each
// retry whose token refresh succeeds before the stream is refused again.
func TestHeldOffNodeDoesNotFlapOnline(t *testing.T) {
	t.Parallel()
	h := newAccountsHub()
	h.accounts = sdk.AccountsResult{Required: true, Providers: []sdk.AccountProvider{{Name: "corp"}}}
	h.publishErr = fmt.Errorf("%w: refused by the hub", sdk.ErrPermissionDenied)
	h.streamErr = h.publishErr
	s := newService(t, newStore(t), newKey(t))
	var online atomic.Int32
	s.o.Online = func() { online.Add(1) }
	s.firstRetry = time.Millisecond // retries come quickly
	s.Start(context.Background(), fakeHubPlugins{h})
	if _, err := s.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ { // the login's stream and three resumed ones
		<-h.refused
	}
	if n := online.Load(); n != 0 {
		t.Errorf("the held-off node was shown online %d times between tries", n)
	}
	if st := s.State(); st.Status != StatusHubOffline || !strings.Contains(st.LastError, "dpc hub link") {
		t.Errorf("status %+v, want hub_offline saying to run dpc hub link", st)
	}
}

// TestProfileHeldForWantOfAccountIsPublishedOnceLinked: the profile the
// hub refused at dpc hub login (no linked account) is published once the
// account is linked, without dpc profile publish (dpc hub link --no-wait
// does not publish it).
func TestProfileHeldForWantOfAccountIsPublishedOnceLinked(t *testing.T) {
	t.Parallel()
	offered := []sdk.AccountProvider{{Name: "corp"}}
	h := newAccountsHub()
	h.accounts = sdk.AccountsResult{Required: true, Providers: offered}
	h.publishErr = fmt.Errorf("%w: refused by the hub", sdk.ErrPermissionDenied)
	h.streamErr = h.publishErr
	s := newService(t, newStore(t), newKey(t))
	s.firstRetry = time.Hour // only a wake brings the next try
	s.Start(context.Background(), fakeHubPlugins{h})
	if _, err := s.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-h.refused
	h.mu.Lock()
	h.streamErr, h.publishErr = nil, nil
	h.accounts = sdk.AccountsResult{Required: true, Providers: offered, Accounts: []sdk.Account{{Provider: "corp", Subject: "u"}}}
	h.mu.Unlock()
	if _, err := s.Accounts(context.Background()); err != nil { // dpc hub accounts
		t.Fatal(err)
	}
	select {
	case req := <-h.published:
		if !strings.Contains(string(req.ProfileJSON), "alice") {
			t.Errorf("published %s, want the configured profile", req.ProfileJSON)
		}
	case <-time.After(time.Minute):
		t.Fatal("the profile the hub refused at login was not published once the account was linked")
	}
	<-h.signals
}
