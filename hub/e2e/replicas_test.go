package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dpc-go/dpc/hub/internal/pgtest"
	"github.com/dpc-go/dpc/hub/internal/testnode"
	"github.com/dpc-go/dpc/hub/internal/turnserver/turntest"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// clusterURL is the public URL every replica of the test cluster shares:
// the audience of logins and tokens, as behind a load balancer. The tests
// talk to each replica at its own address.
const clusterURL = "http://hub.cluster.test"

// startReplicas starts n dpc-hub replicas on one fresh PostgreSQL database.
func startReplicas(t *testing.T, srv *pgtest.Server, n int, extra ...string) []*hubProc {
	t.Helper()
	db := srv.Database(t)
	hubs := make([]*hubProc, n)
	for i := range hubs {
		args := append([]string{"--postgres", db, "--public-url", clusterURL}, extra...)
		hubs[i] = startHubArgs(t, append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	}
	return hubs
}

// keyLoginVia logs n in to the cluster: the challenge from one replica,
// the login at another (the nonce is the cluster's).
func keyLoginVia(t *testing.T, challengeAt, loginAt *hubProc, n testnode.Node) tokens {
	t.Helper()
	var ch struct{ Nonce, Audience string }
	if code := call(t, "POST", challengeAt.URL+"/login/challenge", "", nil, &ch); code != 200 || ch.Audience != clusterURL {
		t.Fatalf("challenge: %d, audience %q", code, ch.Audience)
	}
	return finishLogin(t, loginAt.URL, ch.Nonce, ch.Audience, n)
}

// signalSocket is a node's signaling socket in a test.
type signalSocket struct {
	t    *testing.T
	conn *websocket.Conn
	ctx  context.Context
}

func openSignal(t *testing.T, ctx context.Context, h *hubProc, token string) *signalSocket {
	t.Helper()
	c, _, err := websocket.Dial(ctx, "ws://"+h.Addr+"/ws/signal", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	s := &signalSocket{t: t, conn: c, ctx: ctx}
	if m := s.read(); m["type"] != "auth_ok" {
		t.Fatalf("want auth_ok, got %v", m)
	}
	return s
}

func (s *signalSocket) read() map[string]any {
	s.t.Helper()
	m, err := s.tryRead()
	if err != nil {
		s.t.Fatal(err)
	}
	return m
}

func (s *signalSocket) tryRead() (map[string]any, error) {
	_, b, err := s.conn.Read(s.ctx)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func (s *signalSocket) signal(target, sdp string) {
	s.t.Helper()
	msg := fmt.Sprintf(`{"type":"signal","target_node_id":%q,"payload":{"type":"offer","sdp":%q}}`, target, sdp)
	if err := s.conn.Write(s.ctx, websocket.MessageText, []byte(msg)); err != nil {
		s.t.Fatal(err)
	}
}

// closeReason reads until the socket closes and returns its close status.
func (s *signalSocket) closeReason() (websocket.StatusCode, string) {
	for {
		if _, err := s.tryRead(); err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			s.t.Fatalf("socket ended without a close frame: %v", err)
		}
	}
}

// waitHealth polls a replica's /health until its status is want.
func waitHealth(t *testing.T, h *hubProc, want string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var body map[string]any
		resp, err := http.Get(h.URL + "/health")
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if body["status"] == want {
				return body
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/health: want status %q, last %v (%v)", h.URL, want, body, err)
		}
		<-time.After(50 * time.Millisecond) // between polls of the replica's state
	}
}

// TestE2EReplicasActAsOneHub: two dpc-hub processes on one PostgreSQL: a
// login started on one replica ends on the other, a node on replica 1
// signals a node on replica 2 and back, presence and the cluster's figures
// are the cluster's, and a newer socket on one replica replaces the older
// on the other.
func TestE2EReplicasActAsOneHub(t *testing.T) {
	srv := pgtest.New(t)
	hubs := startReplicas(t, srv, 2)
	r1, r2 := hubs[0], hubs[1]
	alice, bob := dpcInit(t, "Alice", "ed25519"), dpcInit(t, "Bob", "ed25519")
	ta := keyLoginVia(t, r2, r1, alice)
	tb := keyLoginVia(t, r1, r2, bob)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sa := openSignal(t, ctx, r1, ta.AccessToken)
	sb := openSignal(t, ctx, r2, tb.AccessToken)

	sa.signal(bob.NodeID, "offer from alice")
	if m := sb.read(); m["type"] != "signal" || m["sender_node_id"] != alice.NodeID {
		t.Fatalf("bob on replica 2 got %v: want alice's signal", m)
	}
	sb.signal(alice.NodeID, "answer from bob")
	if m := sa.read(); m["type"] != "signal" || m["sender_node_id"] != bob.NodeID {
		t.Fatalf("alice on replica 1 got %v: want bob's signal", m)
	}

	var p struct {
		Online bool `json:"online"`
	}
	if code := call(t, "GET", r1.URL+"/presence/"+bob.NodeID, ta.AccessToken, nil, &p); code != 200 || !p.Online {
		t.Fatalf("bob's presence seen from replica 1: %d %+v", code, p)
	}
	for _, h := range hubs {
		h := h
		eventuallyMetric(t, h, "dpc_hub_cluster_replicas", 2)
		eventuallyMetric(t, h, "dpc_hub_cluster_signal_connections", 2)
		if body := waitHealth(t, h, "healthy"); body["replicas"] != float64(2) || body["replica"] == "" {
			t.Fatalf("%s/health: %v", h.URL, body)
		}
	}

	// Bob opens a newer socket on replica 1: replica 2 closes the older.
	sb2 := openSignal(t, ctx, r1, tb.AccessToken)
	if code, reason := sb.closeReason(); code != websocket.StatusNormalClosure || reason != "replaced by a newer connection of this node" {
		t.Fatalf("bob's older socket on replica 2 closed with %d %q", code, reason)
	}
	sa.signal(bob.NodeID, "to bob's newer socket")
	if m := sb2.read(); m["type"] != "signal" || m["sender_node_id"] != alice.NodeID {
		t.Fatalf("bob's newer socket got %v", m)
	}
}

// TestE2ERevocationReachesEveryReplica: a login logged out on replica 1 is
// refused on replica 2 at once, and its socket there is closed.
func TestE2ERevocationReachesEveryReplica(t *testing.T) {
	srv := pgtest.New(t)
	hubs := startReplicas(t, srv, 2)
	r1, r2 := hubs[0], hubs[1]
	carol := dpcInit(t, "Carol", "ed25519")
	tc := keyLoginVia(t, r1, r1, carol)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sc := openSignal(t, ctx, r2, tc.AccessToken)

	start := time.Now()
	if code := call(t, "POST", r1.URL+"/logout", tc.AccessToken, nil, nil); code != 200 {
		t.Fatalf("logout on replica 1: %d", code)
	}
	var e tokens
	if code := call(t, "GET", r2.URL+"/profile", tc.AccessToken, nil, &e); code != 401 || e.Error != "token_revoked" {
		t.Fatalf("the logged-out token on replica 2: want 401 token_revoked, got %d %+v", code, e)
	}
	refused := time.Since(start)
	if code, reason := sc.closeReason(); code != websocket.StatusNormalClosure || reason != "logged out" {
		t.Fatalf("carol's socket on replica 2 closed with %d %q", code, reason)
	}
	t.Logf("logout on replica 1: token refused on replica 2 after %v, its socket there closed after %v", refused, time.Since(start))
	if code := call(t, "POST", r2.URL+"/refresh", "", map[string]string{"refresh_token": tc.RefreshToken}, &e); code != 401 || e.Error != "token_revoked" {
		t.Fatalf("the logged-out refresh token on replica 2: %d %+v", code, e)
	}
}

// TestE2EReplicasSurviveDatabaseLoss: the database is killed under two
// replicas; both say so on /health, and both serve again, signaling
// across each other, once it is back.
func TestE2EReplicasSurviveDatabaseLoss(t *testing.T) {
	srv := pgtest.New(t)
	hubs := startReplicas(t, srv, 2)
	r1, r2 := hubs[0], hubs[1]
	alice, bob := dpcInit(t, "Alice", "ed25519"), dpcInit(t, "Bob", "ed25519")
	ta, tb := keyLoginVia(t, r1, r1, alice), keyLoginVia(t, r2, r2, bob)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sa := openSignal(t, ctx, r1, ta.AccessToken)

	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	for _, h := range hubs {
		if body := waitHealth(t, h, "degraded"); body["database"] == "ok" {
			t.Fatalf("%s/health while the database is down: %v", h.URL, body)
		}
	}
	// Requests that need the database say so, and when to retry.
	req, _ := http.NewRequest("GET", r2.URL+"/profile", nil)
	req.Header.Set("Authorization", "Bearer "+tb.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e tokens
	_ = json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || e.Error != "unavailable" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a request while the database is down: %d %+v Retry-After %q, want 503 unavailable", resp.StatusCode, e, resp.Header.Get("Retry-After"))
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	for _, h := range hubs {
		waitHealth(t, h, "healthy")
	}
	// Bob connects after the outage; alice's socket lived through it.
	sb := openSignal(t, ctx, r2, tb.AccessToken)
	deadline := time.Now().Add(90 * time.Second)
	for {
		var p struct {
			Online bool `json:"online"`
		}
		if code := call(t, "GET", r1.URL+"/presence/"+bob.NodeID, ta.AccessToken, nil, &p); code == 200 && p.Online {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bob never showed online on replica 1 after the outage")
		}
		<-time.After(50 * time.Millisecond) // between polls of bob's presence
	}
	sa.signal(bob.NodeID, "after the outage")
	if m := sb.read(); m["type"] != "signal" || m["sender_node_id"] != alice.NodeID {
		t.Fatalf("bob got %v after the outage", m)
	}
	// New logins work on both replicas again.
	keyLoginVia(t, r2, r1, dpcInit(t, "Dan", "ed25519"))
}

// TestE2EReplicaShutdownHandsOffClients: a replica stopped with SIGTERM
// tells its clients to reconnect and leaves the cluster at once.
func TestE2EReplicaShutdownHandsOffClients(t *testing.T) {
	srv := pgtest.New(t)
	hubs := startReplicas(t, srv, 2, "--reconnect-spread", "3s")
	r1, r2 := hubs[0], hubs[1]
	alice := dpcInit(t, "Alice", "ed25519")
	ta := keyLoginVia(t, r1, r1, alice)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sa := openSignal(t, ctx, r1, ta.AccessToken)
	eventuallyMetric(t, r2, "dpc_hub_cluster_replicas", 2)

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		r1.stop(t)
	}()
	if m := sa.read(); m["type"] != "reconnect" || m["retry_after_ms"] != float64(3000) {
		t.Fatalf("want the reconnect hint with retry_after_ms 3000, got %v", m)
	}
	if code, reason := sa.closeReason(); code != websocket.StatusServiceRestart || reason != "hub shutting down: reconnect" {
		t.Fatalf("closed with %d %q, want 1012", code, reason)
	}
	<-stopped
	eventuallyMetric(t, r2, "dpc_hub_cluster_replicas", 1)
	// The client reconnects to the other replica with the same token
	// (openSignal fails the test without auth_ok).
	openSignal(t, ctx, r2, ta.AccessToken)
}

// eventuallyMetric polls a replica's /metrics until the series has value want.
func eventuallyMetric(t *testing.T, h *hubProc, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, err := readMetric(h.URL, name)
		if err == nil && v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: want %v, last %v (%v)", h.URL, name, want, v, err)
		}
		<-time.After(50 * time.Millisecond) // between polls of the figures
	}
}

// tokenKid returns the kid in an access token's header.
func tokenKid(t *testing.T, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

var rotatedRE = regexp.MustCompile(`new token signing key ([0-9a-f]{16})`)

// TestE2ETokenKeyRotationAcrossReplicas: dpc-hub rotate-token-key while two
// replicas run logs no one out: tokens of the old key keep working on
// both, a replica told by SIGHUP signs with the new key at once, and the
// other accepts those tokens before its own periodic reload.
func TestE2ETokenKeyRotationAcrossReplicas(t *testing.T) {
	srv := pgtest.New(t)
	db := srv.Database(t)
	var hubs []*hubProc
	for range 2 {
		// Logins until SIGHUP takes effect: no login limit to run into.
		hubs = append(hubs, startHubArgs(t, "--listen", "127.0.0.1:0", "--postgres", db, "--public-url", clusterURL, "--rate-login", "0"))
	}
	r1, r2 := hubs[0], hubs[1]
	alice, bob := dpcInit(t, "Alice", "ed25519"), dpcInit(t, "Bob", "ed25519")
	old := keyLoginVia(t, r1, r1, alice)
	oldKid := tokenKid(t, old.AccessToken)

	out, err := exec.Command(filepath.Join(binDir, "dpc-hub"), "rotate-token-key", "--postgres", db).CombinedOutput()
	m := rotatedRE.FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("rotate-token-key: %v\n%s", err, out)
	}
	newKid := string(m[1])
	if newKid == oldKid {
		t.Fatalf("the new key has the old key's id %s", oldKid)
	}
	if err := r1.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// SIGHUP is handled in the background: the first login after it that
	// carries the new key shows it took effect.
	var fresh tokens
	deadline := time.Now().Add(time.Minute)
	for fresh = keyLoginVia(t, r1, r1, bob); tokenKid(t, fresh.AccessToken) != newKid; fresh = keyLoginVia(t, r1, r1, bob) {
		if time.Now().After(deadline) {
			t.Fatalf("replica 1 still signs with %s a minute after SIGHUP", tokenKid(t, fresh.AccessToken))
		}
		<-time.After(20 * time.Millisecond) // between polls of the signing key
	}
	cases := []struct {
		name  string
		at    *hubProc
		token string
	}{
		{"old key, replica 1", r1, old.AccessToken},
		{"old key, replica 2", r2, old.AccessToken},
		{"new key, replica 1", r1, fresh.AccessToken},
		{"new key, replica 2 (not reloaded yet)", r2, fresh.AccessToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e tokens
			if code := call(t, "GET", tc.at.URL+"/profile", tc.token, nil, &e); code != 404 || e.Error != "not_found" {
				t.Fatalf("want 404 not_found (no profile, token accepted), got %d %+v", code, e)
			}
		})
	}
	// The old login refreshes as usual.
	var next tokens
	if code := call(t, "POST", r2.URL+"/refresh", "", map[string]string{"refresh_token": old.RefreshToken}, &next); code != 200 || next.AccessToken == "" {
		t.Fatalf("refresh of the old login: %d %+v", code, next)
	}
}

// TestE2EReplicasShareTheTURNSecret: each replica runs its own TURN
// server, with the secret the cluster keeps in the database: a credential
// one replica issued allocates on another's TURN server, and a logout on
// one replica revokes it on the other's.
func TestE2EReplicasShareTheTURNSecret(t *testing.T) {
	srv := pgtest.New(t)
	db := srv.Database(t)
	turnAddrs := []string{fmt.Sprintf("127.0.0.1:%d", sdktest.ReservePort(t)), fmt.Sprintf("127.0.0.1:%d", sdktest.ReservePort(t))}
	var hubs []*hubProc
	for _, ta := range turnAddrs {
		hubs = append(hubs, startHubArgs(t, "--listen", "127.0.0.1:0", "--postgres", db, "--public-url", clusterURL, "--turn", "--turn-listen", ta))
	}
	n := dpcInit(t, "Dora", "ed25519")
	tok := keyLoginVia(t, hubs[0], hubs[0], n)
	var ice struct {
		IceServers []struct {
			URLs       []string `json:"urls"`
			Username   string   `json:"username"`
			Credential string   `json:"credential"`
		} `json:"ice_servers"`
	}
	if code := call(t, "GET", hubs[0].URL+"/ice-servers", tok.AccessToken, nil, &ice); code != 200 || len(ice.IceServers) != 1 {
		t.Fatalf("/ice-servers on replica 1: %d %+v", code, ice)
	}
	is := ice.IceServers[0]
	relay, err := turntest.Allocate(t, turnAddrs[1], is.Username, is.Credential)
	if err != nil {
		t.Fatalf("replica 1's credential on replica 2's TURN server: %v", err)
	}
	if err := turntest.RoundTrip(relay, turntest.EchoPeer(t), []byte("relayed by replica 2")); err != nil {
		t.Fatal(err)
	}
	_ = relay.Close()
	if code := call(t, "POST", hubs[0].URL+"/logout", tok.AccessToken, nil, nil); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	// The revocation reaches replica 2 through the database: poll until its
	// TURN server refuses the credential.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := turntest.Allocate(t, turnAddrs[1], is.Username, is.Credential)
		if err != nil {
			break
		}
		_ = r.Close()
		if time.Now().After(deadline) {
			t.Fatal("replica 2's TURN server still takes the credential of a login logged out on replica 1")
		}
		<-time.After(50 * time.Millisecond) // between polls of the revocation
	}
}
