package hubdpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	sdktest.Conformance(t, func() sdk.Plugin { return &Plugin{} }, sdktest.Options{
		Config: func(testing.TB) any { return &Config{URL: "http://127.0.0.1:1"} },
	})
}

// TestLoginLookupSearchSignal: two nodes log in with keys held by their
// hosts; the second finds the first online under its name, by lookup and by
// search, and signals go both ways stamped with the real sender.
func TestLoginLookupSearchSignal(t *testing.T) {
	t.Parallel()
	hub := startHub(t, "127.0.0.1:0", t.TempDir())
	ctx := context.Background()
	alice, bob := newNode(t, hub.URL, "Alice", nil), newNode(t, hub.URL, "Bob", nil)

	r := alice.login(t)
	if r.NodeID != alice.ident.NodeID || r.Expires.IsZero() || len(r.Session.Data) == 0 || r.Session.Expires.IsZero() {
		t.Fatalf("Login: want node %s with an expiry and a session, got %+v", alice.ident.NodeID, r)
	}
	bob.login(t)
	uri := "dpc://203.0.113.5:8888?node_id=" + alice.ident.NodeID
	err := alice.hub.PublishPresence(ctx, sdk.PublishPresenceRequest{Status: "online", URIs: []string{uri},
		ProfileJSON: []byte(`{"description":"gopher","expertise":{"go":5}}`)})
	if err != nil {
		t.Fatalf("PublishPresence: %v", err)
	}
	aliceIn, _ := alice.signals(t)
	bobIn, _ := bob.signals(t)
	waitEvents(t, alice.h.Host, EventConnected, 1)
	waitEvents(t, bob.h.Host, EventConnected, 1)

	got, err := bob.hub.LookupPeer(ctx, sdk.LookupPeerRequest{NodeID: alice.ident.NodeID})
	if err != nil {
		t.Fatalf("LookupPeer: %v", err)
	}
	var prof profileFields
	if err := json.Unmarshal(got.Peer.ProfileJSON, &prof); err != nil {
		t.Fatalf("ProfileJSON %s: %v", got.Peer.ProfileJSON, err)
	}
	if !got.Peer.Online || prof.Name != "Alice" || prof.Expertise["go"] != 5 || len(got.Peer.URIs) != 1 || got.Peer.LastSeen.IsZero() {
		t.Errorf("LookupPeer: want Alice (the display name), online, expertise go 5, one URI, a last seen; got %+v %s", got.Peer, got.Peer.ProfileJSON)
	}

	found, err := bob.hub.SearchPeers(ctx, sdk.SearchPeersRequest{Query: "go", Limit: 500})
	if err != nil {
		t.Fatalf("SearchPeers: %v", err)
	}
	if len(found.Peers) != 1 || found.Peers[0].NodeID != alice.ident.NodeID || !found.Peers[0].Online {
		t.Errorf("SearchPeers go: want Alice online, got %+v", found.Peers)
	}

	if _, err := bob.hub.LookupPeer(ctx, sdk.LookupPeerRequest{NodeID: "dpc-node-0123456789abcdef0123456789abcdef"}); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("LookupPeer of an unknown node: want sdk.ErrNotFound, got %v", err)
	}

	if err := alice.hub.SendSignal(ctx, sdk.SendSignalRequest{TargetNodeID: bob.ident.NodeID, Type: "offer",
		Payload: []byte(`{"offer":{"type":"offer","sdp":"v=0"},"sender_node_id":"dpc-node-ffffffffffffffffffffffffffffffff"}`)}); err != nil {
		t.Fatalf("SendSignal alice→bob: %v", err)
	}
	s := recv(t, bobIn)
	if s.SenderNodeID != alice.ident.NodeID || s.Type != "offer" || !strings.Contains(string(s.Payload), `"sdp":"v=0"`) {
		t.Errorf("bob got %+v %s, want an offer stamped with alice's node_id", s, s.Payload)
	}
	if err := bob.hub.SendSignal(ctx, sdk.SendSignalRequest{TargetNodeID: alice.ident.NodeID, Type: "answer",
		Payload: []byte(`{"answer":{"type":"answer","sdp":"v=0"}}`)}); err != nil {
		t.Fatalf("SendSignal bob→alice: %v", err)
	}
	if s := recv(t, aliceIn); s.SenderNodeID != bob.ident.NodeID || s.Type != "answer" {
		t.Errorf("alice got %+v, want an answer stamped with bob's node_id", s)
	}

	// A signal to a node that is not connected comes back as an event.
	if err := alice.hub.SendSignal(ctx, sdk.SendSignalRequest{TargetNodeID: "dpc-node-0123456789abcdef0123456789abcdef",
		Type: "offer", Payload: []byte(`{}`)}); err != nil {
		t.Fatalf("SendSignal to an offline node: %v", err)
	}
	waitEvents(t, alice.h.Host, EventSignalError, 1)
}

// TestSignalsReconnectAfterHubRestart: the stream comes back by itself when
// the hub returns, and the node shows online again.
func TestSignalsReconnectAfterHubRestart(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	// Restarted on the same address: a port no other socket can take meanwhile.
	hub := startHub(t, fmt.Sprintf("127.0.0.1:%d", sdktest.ReservePort(t)), data)
	alice := newNode(t, hub.URL, "Alice", nil)
	alice.login(t)
	_, errc := alice.signals(t)
	waitEvents(t, alice.h.Host, EventConnected, 1)

	hub.stop(t)
	waitEvents(t, alice.h.Host, EventDisconnected, 1)
	hub = startHub(t, hub.Addr, data)
	waitEvents(t, alice.h.Host, EventConnected, 2)
	select {
	case err := <-errc:
		t.Fatalf("Signals ended: %v", err)
	default:
	}

	bob := newNode(t, hub.URL, "Bob", nil)
	bob.login(t)
	got, err := bob.hub.LookupPeer(context.Background(), sdk.LookupPeerRequest{NodeID: alice.ident.NodeID})
	if err != nil || !got.Peer.Online {
		t.Errorf("after the restart: want alice online, got %+v (err %v)", got.Peer, err)
	}
}

// TestRefreshRotatesToken: an access token about to expire is refreshed
// before use; the new refresh token goes to the host at once, and the hub
// then refuses the spent one (and ends the login, as token theft).
func TestRefreshRotatesToken(t *testing.T) {
	t.Parallel()
	hub := startHub(t, "127.0.0.1:0", t.TempDir())
	ctx := context.Background()
	alice := newNode(t, hub.URL, "Alice", nil)
	first := alice.login(t)
	oldRefresh := sessionToken(t, first.Session)

	alice.p.mu.Lock()
	alice.p.sess.accessExp = alice.p.sess.accessExp.Add(-365 * 24 * time.Hour) // as if it were about to expire
	alice.p.mu.Unlock()
	if _, err := alice.hub.SearchPeers(ctx, sdk.SearchPeersRequest{}); err != nil {
		t.Fatalf("SearchPeers with an expiring access token: %v", err)
	}
	saved := lastSession(t, alice.h.Host)
	if newRefresh := sessionToken(t, saved); newRefresh == oldRefresh {
		t.Fatalf("the refresh did not rotate the refresh token")
	}

	_, err := alice.p.do(ctx, hub.URL, http.MethodPost, "/refresh", "", map[string]string{"refresh_token": oldRefresh})
	var he *HubError
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized || he.Code != "refresh_reused" {
		t.Fatalf("the spent refresh token: want 401 refresh_reused, got %v", err)
	}
	// Reuse revoked the family: the plugin's own token is dead too, and the
	// plugin says so instead of failing forever.
	alice.p.mu.Lock()
	alice.p.sess.accessExp = alice.p.sess.accessExp.Add(-365 * 24 * time.Hour)
	alice.p.mu.Unlock()
	if _, err := alice.hub.SearchPeers(ctx, sdk.SearchPeersRequest{}); !errors.Is(err, sdk.ErrPermissionDenied) {
		t.Errorf("after the family was revoked: want sdk.ErrPermissionDenied, got %v", err)
	}
	if s := lastSession(t, alice.h.Host); len(s.Data) != 0 {
		t.Errorf("after the family was revoked: want the host told to forget the session, got %q", s.Data)
	}
	waitEvents(t, alice.h.Host, EventSessionEnded, 1)
}

// TestResumeAfterRestart: a restarted plugin takes up the session the host
// kept, without a new login; the spent session is refused afterwards.
func TestResumeAfterRestart(t *testing.T) {
	t.Parallel()
	hub := startHub(t, "127.0.0.1:0", t.TempDir())
	ctx := context.Background()
	first := newNode(t, hub.URL, "Alice", nil)
	login := first.login(t)
	if err := first.hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	again := newNode(t, hub.URL, "Alice", first.h.Host)
	r, err := again.hub.Resume(ctx, sdk.ResumeRequest{Session: login.Session})
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if r.NodeID != first.ident.NodeID || sessionToken(t, r.Session) == sessionToken(t, login.Session) {
		t.Errorf("Resume: want node %s with a rotated session, got %+v", first.ident.NodeID, r)
	}
	if _, err := again.hub.SearchPeers(ctx, sdk.SearchPeersRequest{}); err != nil {
		t.Errorf("SearchPeers after Resume: %v", err)
	}

	other := newNode(t, hub.URL, "Mallory", nil)
	foreign := newNode(t, "http://hub.example.org", "Alice", first.h.Host)
	tests := map[string]struct {
		hub  sdk.Hub
		sess sdk.HubSession
		want error
	}{
		"spent session":             {again.hub, login.Session, sdk.ErrPermissionDenied},
		"session of another node":   {other.hub, r.Session, sdk.ErrInvalidArgument},
		"session for another hub":   {foreign.hub, r.Session, sdk.ErrInvalidArgument},
		"session from another tool": {again.hub, sdk.HubSession{Data: []byte(`{"v":1,"refresh_token":"x"}`)}, sdk.ErrInvalidArgument},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := tc.hub.Resume(ctx, sdk.ResumeRequest{Session: tc.sess}); !errors.Is(err, tc.want) {
				t.Errorf("want %v, got %v", tc.want, err)
			}
		})
	}
}

// TestLogout: logout revokes the login at the hub, closes the stream and
// tells the host to forget the session.
func TestLogout(t *testing.T) {
	t.Parallel()
	hub := startHub(t, "127.0.0.1:0", t.TempDir())
	ctx := context.Background()
	alice := newNode(t, hub.URL, "Alice", nil)
	r := alice.login(t)
	_, errc := alice.signals(t)
	waitEvents(t, alice.h.Host, EventConnected, 1)

	if err := alice.hub.Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if err := <-errc; !errors.Is(err, sdk.ErrPermissionDenied) {
		t.Errorf("Signals after Logout: want sdk.ErrPermissionDenied, got %v", err)
	}
	if s := lastSession(t, alice.h.Host); len(s.Data) != 0 {
		t.Errorf("want the host told to forget the session, got %q", s.Data)
	}
	if _, err := alice.hub.SearchPeers(ctx, sdk.SearchPeersRequest{}); !errors.Is(err, sdk.ErrPermissionDenied) {
		t.Errorf("SearchPeers after Logout: want sdk.ErrPermissionDenied, got %v", err)
	}
	_, err := alice.p.do(ctx, hub.URL, http.MethodPost, "/refresh", "", map[string]string{"refresh_token": sessionToken(t, r.Session)})
	var he *HubError
	if !errors.As(err, &he) || he.Code != "token_revoked" {
		t.Errorf("the logged-out refresh token: want 401 token_revoked, got %v", err)
	}
}

// TestLoginErrorsSayWhatIsWrong: a hub that is down, a URL that is not a
// hub and a hub known under another URL give errors that say so.
func TestLoginErrorsSayWhatIsWrong(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	_ = ln.Close()
	notHub := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notHub.Close)
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","audience":"https://hub.example.org","purpose":"hub-login/v1"}`))
	}))
	t.Cleanup(elsewhere.Close)

	tests := map[string]struct {
		url      string
		sentinel error
		says     string
	}{
		"hub down":              {down, sdk.ErrUnavailable, "is the hub running"},
		"not a hub":             {notHub.URL, sdk.ErrNotFound, "is url the hub's base URL"},
		"hub under another url": {elsewhere.URL, sdk.ErrInvalidArgument, "--public-url"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, tc.url, "Alice", nil)
			_, err := n.hub.Login(context.Background())
			if !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("want an error wrapping %v that says %q, got %v", tc.sentinel, tc.says, err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		url  string
		says string // "" = valid
	}{
		"http":               {"http://127.0.0.1:8000", ""},
		"https with slash":   {"https://Hub.Example.org/", ""},
		"missing":            {"", "is required"},
		"other scheme":       {"ftp://hub.example.org", "http or https"},
		"no host":            {"http://", "names no host"},
		"path":               {"https://hub.example.org/api", "has the path"},
		"query":              {"https://hub.example.org/?x=1", "query or fragment"},
		"fragment":           {"https://hub.example.org/#top", "query or fragment"},
		"user info":          {"https://me:pw@hub.example.org", "user info"},
		"not a URL":          {"http://[::1", "not a URL"},
		"relative reference": {"hub.example.org", "http or https"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := (&Config{URL: tc.url}).Validate()
			if tc.says == "" {
				if err != nil {
					t.Errorf("want valid, got %v", err)
				}
				return
			}
			ces := sdk.ConfigErrors(err)
			if len(ces) != 1 || ces[0].Path[0] != "url" || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("want a url error saying %q, got %v", tc.says, err)
			}
		})
	}
}

// TestRequestsRefusedBeforeTheHub: what the plugin checks itself, before
// any request.
func TestRequestsRefusedBeforeTheHub(t *testing.T) {
	t.Parallel()
	n := newNode(t, "http://127.0.0.1:1", "Alice", nil)
	ctx := context.Background()
	peer := "dpc-node-0123456789abcdef0123456789abcdef"
	tests := map[string]struct {
		call func() error
		want error
	}{
		"status away": {func() error {
			return n.hub.PublishPresence(ctx, sdk.PublishPresenceRequest{Status: "away"})
		}, sdk.ErrUnsupported},
		"unknown status": {func() error {
			return n.hub.PublishPresence(ctx, sdk.PublishPresenceRequest{Status: "busy"})
		}, sdk.ErrInvalidArgument},
		"profile with unknown field": {func() error {
			return n.hub.PublishPresence(ctx, sdk.PublishPresenceRequest{ProfileJSON: []byte(`{"name":"A","email":"a@example.org"}`)})
		}, sdk.ErrInvalidArgument},
		"lookup of a malformed node_id": {func() error {
			_, err := n.hub.LookupPeer(ctx, sdk.LookupPeerRequest{NodeID: "../logout"})
			return err
		}, sdk.ErrInvalidArgument},
		"signal to a malformed node_id": {func() error {
			return n.hub.SendSignal(ctx, sdk.SendSignalRequest{TargetNodeID: "bob", Payload: []byte(`{}`)})
		}, sdk.ErrInvalidArgument},
		"signal payload not an object": {func() error {
			return n.hub.SendSignal(ctx, sdk.SendSignalRequest{TargetNodeID: peer, Payload: []byte(`[1]`)})
		}, sdk.ErrInvalidArgument},
		"signal type differs from payload's": {func() error {
			return n.hub.SendSignal(ctx, sdk.SendSignalRequest{TargetNodeID: peer, Type: "offer", Payload: []byte(`{"type":"answer"}`)})
		}, sdk.ErrInvalidArgument},
		"signal without a stream": {func() error {
			return n.hub.SendSignal(ctx, sdk.SendSignalRequest{TargetNodeID: peer, Type: "offer", Payload: []byte(`{}`)})
		}, sdk.ErrUnavailable},
		"ice servers before a login": {func() error { _, err := n.hub.IceServers(ctx); return err }, sdk.ErrPermissionDenied},
		"mailbox put of no envelope": {func() error {
			_, err := n.hub.MailboxPut(ctx, sdk.MailboxPutRequest{RecipientNodeID: peer})
			return err
		}, sdk.ErrInvalidArgument},
		"mailbox put of an envelope over 64 KiB": {func() error {
			_, err := n.hub.MailboxPut(ctx, sdk.MailboxPutRequest{RecipientNodeID: peer, Envelope: make([]byte, 64<<10+1)})
			return err
		}, sdk.ErrInvalidArgument},
		"mailbox put to a malformed node_id": {func() error {
			_, err := n.hub.MailboxPut(ctx, sdk.MailboxPutRequest{RecipientNodeID: "../logout", Envelope: []byte("x")})
			return err
		}, sdk.ErrInvalidArgument},
		"mailbox put with a TTL under a minute": {func() error {
			_, err := n.hub.MailboxPut(ctx, sdk.MailboxPutRequest{RecipientNodeID: peer, Envelope: []byte("x"), TTL: 59 * time.Second})
			return err
		}, sdk.ErrInvalidArgument},
		"mailbox put with a TTL over seven days": {func() error {
			_, err := n.hub.MailboxPut(ctx, sdk.MailboxPutRequest{RecipientNodeID: peer, Envelope: []byte("x"), TTL: 7*24*time.Hour + time.Second})
			return err
		}, sdk.ErrInvalidArgument},
		"mailbox put before a login": {func() error {
			_, err := n.hub.MailboxPut(ctx, sdk.MailboxPutRequest{RecipientNodeID: peer, Envelope: []byte("x")})
			return err
		}, sdk.ErrPermissionDenied},
		"mailbox fetch before a login": {func() error { _, err := n.hub.MailboxFetch(ctx, sdk.MailboxFetchRequest{}); return err }, sdk.ErrPermissionDenied},
		"mailbox ack of an empty id": {func() error {
			return n.hub.MailboxAck(ctx, sdk.MailboxAckRequest{EnvelopeIDs: []string{"a", ""}})
		}, sdk.ErrInvalidArgument},
		"mailbox ack before a login": {func() error {
			return n.hub.MailboxAck(ctx, sdk.MailboxAckRequest{EnvelopeIDs: []string{"a"}})
		}, sdk.ErrPermissionDenied},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Errorf("want an error wrapping %v, got %v", tc.want, err)
			}
		})
	}
}

// sessionToken returns the refresh token inside a session.
func sessionToken(t *testing.T, s sdk.HubSession) string {
	t.Helper()
	d, err := decodeSession(s.Data)
	if err != nil {
		t.Fatalf("session %q: %v", s.Data, err)
	}
	return d.RefreshToken
}

// TestBackoffFullJitter: every wait lies in [0, min(30 s, 250 ms·2^n)], and
// the waits spread over that range instead of all nodes waiting the same.
func TestBackoffFullJitter(t *testing.T) {
	t.Parallel()
	for n := range 24 {
		ceil := backoffMax
		if n < 16 && backoffBase<<n < backoffMax {
			ceil = backoffBase << n
		}
		var high bool
		for range 200 {
			d := backoff(n)
			if d < 0 || d > ceil {
				t.Fatalf("attempt %d: wait %s outside [0, %s]", n, d, ceil)
			}
			high = high || d > ceil/2
		}
		if !high {
			t.Errorf("attempt %d: 200 waits all under half of %s: no jitter", n, ceil)
		}
	}
}

// TestSignalsEndsWithContextWhileHubDown: a stream retrying a dead hub
// stops as soon as its context ends.
func TestSignalsEndsWithContextWhileHubDown(t *testing.T) {
	t.Parallel()
	hub := startHub(t, "127.0.0.1:0", t.TempDir())
	alice := newNode(t, hub.URL, "Alice", nil)
	alice.login(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- alice.hub.Signals(ctx, func(sdk.IncomingSignal) error { return nil }) }()
	waitEvents(t, alice.h.Host, EventConnected, 1)
	hub.stop(t)
	waitEvents(t, alice.h.Host, EventDisconnected, 1)
	cancel()
	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("want nil or context.Canceled, got %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Signals kept retrying after its context ended")
	}
}

// TestSignalsRenewExpiredAccessToken: the hub closes a socket when the
// access token it was opened with expires; the plugin refreshes the token
// (handing the rotated session to the host) and reconnects at once, without
// reporting the hub as gone. The hub's shortest token lifetime is a minute:
// the test waits for that event, not for a fixed time.
func TestSignalsRenewExpiredAccessToken(t *testing.T) {
	t.Parallel()
	hub := startHub(t, "127.0.0.1:0", t.TempDir(), "--access-ttl", "1m")
	alice := newNode(t, hub.URL, "Alice", nil)
	alice.login(t)
	aliceIn, _ := alice.signals(t)
	waitEvents(t, alice.h.Host, EventConnected, 1)
	waitEvents(t, alice.h.Host, EventConnected, 2)
	if n := countEvents(alice.h.Host, EventDisconnected); n != 0 {
		t.Errorf("want no hub.disconnected for a token renewal, got %d", n)
	}
	if s := lastSession(t, alice.h.Host); len(s.Data) == 0 {
		t.Errorf("want the rotated session handed to the host, got an empty one")
	}

	bob := newNode(t, hub.URL, "Bob", nil)
	bob.login(t)
	bob.signals(t)
	waitEvents(t, bob.h.Host, EventConnected, 1)
	if err := bob.hub.SendSignal(context.Background(), sdk.SendSignalRequest{TargetNodeID: alice.ident.NodeID, Type: "offer", Payload: []byte(`{}`)}); err != nil {
		t.Fatalf("SendSignal: %v", err)
	}
	if s := recv(t, aliceIn); s.SenderNodeID != bob.ident.NodeID {
		t.Errorf("after the renewal: want bob's signal, got %+v", s)
	}
}
