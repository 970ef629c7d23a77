package hubdpc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// TestAccountsLinkUnlink: the node lists the hub's providers, asks for a
// link address on the hub, sees the account once the browser flow linked
// it, and unlinks it.
func TestAccountsLinkUnlink(t *testing.T) {
	t.Parallel()
	hub := newFakeHub(t)
	hub.required = true
	n := newNode(t, hub.base, "Alice", nil)
	n.login(t)
	ctx := context.Background()

	got, err := n.hub.Accounts(ctx)
	if err != nil {
		t.Fatalf("Accounts: %v", err)
	}
	if !got.Required || len(got.Providers) != 2 || got.Providers[1] != (sdk.AccountProvider{Name: "corp", DisplayName: "Corp SSO", Kind: "oidc"}) || len(got.Accounts) != 0 {
		t.Fatalf("Accounts: want required, github and corp offered, none linked; got %+v", got)
	}

	before := time.Now()
	l, err := n.hub.LinkAccount(ctx, sdk.LinkAccountRequest{Provider: "corp"})
	if err != nil {
		t.Fatalf("LinkAccount: %v", err)
	}
	if l.URL != hub.base+"/oauth/corp/start?ticket=T1" || l.Expires.Before(before.Add(599*time.Second)) || l.Expires.After(time.Now().Add(600*time.Second)) {
		t.Errorf("LinkAccount: want the hub's start address valid 10 min, got %+v", l)
	}

	hub.link("corp", "u-1", "alice@example.org")
	got, err = n.hub.Accounts(ctx)
	if err != nil || len(got.Accounts) != 1 || got.Accounts[0].Provider != "corp" || got.Accounts[0].Subject != "u-1" ||
		got.Accounts[0].Email != "alice@example.org" || got.Accounts[0].LinkedAt.IsZero() {
		t.Fatalf("Accounts after linking: want corp u-1, got %+v (err %v)", got, err)
	}

	if err := n.hub.UnlinkAccount(ctx, sdk.UnlinkAccountRequest{Provider: "corp"}); err != nil {
		t.Fatalf("UnlinkAccount: %v", err)
	}
	if got, err = n.hub.Accounts(ctx); err != nil || len(got.Accounts) != 0 {
		t.Errorf("Accounts after unlinking: want none, got %+v (err %v)", got, err)
	}
}

// TestAccountErrorsSayWhatToDo: the hub's refusals map to the sdk sentinel
// the host acts on, with a sentence that says what to do.
func TestAccountErrorsSayWhatToDo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	peer := "dpc-node-0123456789abcdef0123456789abcdef"
	tests := map[string]struct {
		oauth    bool
		required bool
		call     func(h sdk.Hub) error
		want     error
		says     string
	}{
		"accounts on a hub without oauth": {oauth: false, call: func(h sdk.Hub) error { _, err := h.Accounts(ctx); return err },
			want: sdk.ErrUnsupported, says: "does not link accounts"},
		"link on a hub without oauth": {oauth: false, call: func(h sdk.Hub) error {
			_, err := h.LinkAccount(ctx, sdk.LinkAccountRequest{Provider: "github"})
			return err
		}, want: sdk.ErrUnsupported, says: "does not link accounts"},
		"unknown provider lists the offered ones": {oauth: true, call: func(h sdk.Hub) error {
			_, err := h.LinkAccount(ctx, sdk.LinkAccountRequest{Provider: "gitlab"})
			return err
		}, want: sdk.ErrNotFound, says: "it offers: github, corp"},
		"malformed provider name": {oauth: true, call: func(h sdk.Hub) error {
			_, err := h.LinkAccount(ctx, sdk.LinkAccountRequest{Provider: "../logout"})
			return err
		}, want: sdk.ErrInvalidArgument, says: "dpc hub accounts lists them"},
		"unlink of an account not linked": {oauth: true, call: func(h sdk.Hub) error {
			return h.UnlinkAccount(ctx, sdk.UnlinkAccountRequest{Provider: "github"})
		}, want: sdk.ErrNotFound, says: "no account of github is linked"},
		"account required: publish presence": {oauth: true, required: true, call: func(h sdk.Hub) error {
			return h.PublishPresence(ctx, sdk.PublishPresenceRequest{Status: "online"})
		}, want: sdk.ErrPermissionDenied, says: "dpc hub link PROVIDER"},
		"account required: lookup peer": {oauth: true, required: true, call: func(h sdk.Hub) error {
			_, err := h.LookupPeer(ctx, sdk.LookupPeerRequest{NodeID: peer})
			return err
		}, want: sdk.ErrPermissionDenied, says: "dpc hub link PROVIDER"},
		"account required: search": {oauth: true, required: true, call: func(h sdk.Hub) error {
			_, err := h.SearchPeers(ctx, sdk.SearchPeersRequest{Query: "go"})
			return err
		}, want: sdk.ErrPermissionDenied, says: "dpc hub link PROVIDER"},
		"account required: ice servers": {oauth: true, required: true, call: func(h sdk.Hub) error {
			_, err := h.IceServers(ctx)
			return err
		}, want: sdk.ErrPermissionDenied, says: "dpc hub link PROVIDER"},
		// Signals ends instead of retrying: only the user can link an
		// account, and the host shows why.
		"account required: signals": {oauth: true, required: true, call: func(h sdk.Hub) error {
			return h.Signals(ctx, func(sdk.IncomingSignal) error { return nil })
		}, want: sdk.ErrPermissionDenied, says: "dpc hub link PROVIDER"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hub := newFakeHub(t)
			hub.oauth, hub.required = tc.oauth, tc.required
			n := newNode(t, hub.base, "Alice", nil)
			n.login(t)
			err := tc.call(n.hub)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("want an error wrapping %v saying %q, got %v", tc.want, tc.says, err)
			}
		})
	}
}

// TestLinkAddressOnTheHubOnly: the link address goes to the user's browser
// with a ticket that links an account to this node; one that is not http(s)
// on the hub's own origin is refused, never passed on.
func TestLinkAddressOnTheHubOnly(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		url func(base string) string
		ok  bool
	}{
		"the hub's own address":      {url: func(b string) string { return b + "/oauth/github/start?ticket=T" }, ok: true},
		"another host":               {url: func(string) string { return "http://evil.example/oauth/github/start?ticket=T" }},
		"the hub's host, other port": {url: func(b string) string { return b[:strings.LastIndex(b, ":")] + ":1/oauth/github/start" }},
		"https instead of http":      {url: func(b string) string { return "https" + strings.TrimPrefix(b, "http") + "/oauth/github/start" }},
		"user info before the host":  {url: func(b string) string { return "http://hub@evil.example/" + b }},
		"javascript":                 {url: func(string) string { return "javascript:alert(1)" }},
		"relative":                   {url: func(string) string { return "/oauth/github/start?ticket=T" }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hub := newFakeHub(t)
			hub.linkURL = tc.url(hub.base)
			n := newNode(t, hub.base, "Alice", nil)
			n.login(t)
			l, err := n.hub.LinkAccount(context.Background(), sdk.LinkAccountRequest{Provider: "github"})
			if tc.ok {
				if err != nil || l.URL != hub.linkURL {
					t.Errorf("want %s, got %+v (err %v)", hub.linkURL, l, err)
				}
				return
			}
			if err == nil || l.URL != "" || !strings.Contains(err.Error(), "link address") {
				t.Errorf("want %q refused with an error about the link address, got %+v (err %v)", hub.linkURL, l, err)
			}
		})
	}
}

// TestDecodeLinkRefusesForeignOrigin: the origin check itself, where the
// error names the other host (the plugin test above crosses gRPC, which
// keeps only the text).
func TestDecodeLinkRefusesForeignOrigin(t *testing.T) {
	t.Parallel()
	raw := []byte(`{"provider":"github","url":"https://evil.example/x","expires_at":"2026-12-04T10:00:00Z","expires_in":600}`)
	_, err := decodeLink(raw, "https://hub.example", "github")
	if !errors.Is(err, ErrForeignLinkURL) || !strings.Contains(err.Error(), "evil.example") {
		t.Errorf("want ErrForeignLinkURL naming evil.example, got %v", err)
	}
	ok := []byte(`{"provider":"github","url":"https://hub.example:443/oauth/github/start?ticket=T","expires_at":"2026-12-04T10:00:00Z","expires_in":600}`)
	if _, err := decodeLink(ok, "https://hub.example", "github"); err != nil {
		t.Errorf("the hub's origin with its default port made explicit: want accepted, got %v", err)
	}
}
