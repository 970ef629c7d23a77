package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dpc-go/dpc/hub/internal/testnode"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

var binDir string

// TestMain builds the real binaries once: dpc-hub, dpc and, in plugins/
// next to dpc where dpc run finds it, the hub-dpc plugin.
func TestMain(m *testing.M) {
	// Real processes on loopback: go test -short (make test-fast) skips
	// the suite before it builds the binaries.
	flag.Parse()
	if testing.Short() {
		// m.Run with no test selected still reports PASS, so that go
		// test caches the skip.
		_ = flag.Set("test.run", "^$")
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "dpc-hub-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	for _, b := range []struct{ pkgDir, out string }{{"../cmd/dpc-hub", "dpc-hub"}, {"../../host/cmd/dpc", "dpc"},
		{"../../plugins/hub-dpc", filepath.Join("plugins", "dpc-plugin-hub-dpc")}} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b.out), ".")
		cmd.Dir = b.pkgDir
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", b.out, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// hubProc is a running dpc-hub.
type hubProc struct {
	cmd  *exec.Cmd
	URL  string
	Addr string
	done chan error
}

var listeningRE = regexp.MustCompile(`listening: addr=(\S+)`)

// startHub starts dpc-hub on listen with data dir data and waits for its
// "listening" line.
func startHub(t testing.TB, listen, data string, extra ...string) *hubProc {
	t.Helper()
	return startHubArgs(t, append([]string{"--listen", listen, "--data", data}, extra...)...)
}

// startHubArgs starts dpc-hub with args and waits for its "listening" line.
func startHubArgs(t testing.TB, args ...string) *hubProc {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "dpc-hub"), args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &hubProc{cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Log("dpc-hub:", sc.Text())
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		h.done <- cmd.Wait()
	}()
	t.Cleanup(func() { h.stop(t) })
	select {
	case a := <-addr:
		h.Addr, h.URL = a, "http://"+a
	case err := <-h.done:
		t.Fatalf("dpc-hub exited before listening: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("dpc-hub did not report listening within a minute")
	}
	return h
}

// stop sends SIGTERM and waits for a clean exit.
func (h *hubProc) stop(t testing.TB) {
	if h.cmd.ProcessState != nil || h.done == nil {
		return
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("dpc-hub exit: %v", err)
		}
	case <-time.After(time.Minute):
		_ = h.cmd.Process.Kill()
		t.Error("dpc-hub did not stop within a minute of SIGTERM")
	}
	h.done = nil
}

func call(t *testing.T, method, url, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(raw, out)
	}
	return resp.StatusCode
}

type tokens struct {
	NodeID       string `json:"node_id"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
	Detail       string `json:"detail"`
}

// keyLogin performs the key login over HTTP exactly as a connector does.
func keyLogin(t *testing.T, hubURL string, n testnode.Node) tokens {
	t.Helper()
	var ch struct {
		Nonce, Audience, Purpose string
	}
	if code := call(t, "POST", hubURL+"/login/challenge", "", nil, &ch); code != 200 {
		t.Fatalf("challenge: %d", code)
	}
	if ch.Audience != hubURL || ch.Purpose != "hub-login/v1" {
		t.Fatalf("challenge names audience %q purpose %q", ch.Audience, ch.Purpose)
	}
	return finishLogin(t, hubURL, ch.Nonce, ch.Audience, n)
}

// finishLogin answers a challenge's nonce for audience at hubURL/login.
func finishLogin(t *testing.T, hubURL, nonce, audience string, n testnode.Node) tokens {
	t.Helper()
	var tok tokens
	code := call(t, "POST", hubURL+"/login", "", map[string]string{
		"node_id": n.NodeID, "certificate": string(n.CertPEM), "nonce": nonce,
		"signature": base64.StdEncoding.EncodeToString(n.Sign(t, audience, "", nonce)), "algorithm": n.Algorithm(t),
	}, &tok)
	if code != 200 || tok.NodeID != n.NodeID {
		t.Fatalf("login: %d %+v", code, tok)
	}
	return tok
}

// dpcInit makes a real node identity with `dpc init`.
func dpcInit(t *testing.T, name, key string) testnode.Node {
	t.Helper()
	return dpcInitHome(t, t.TempDir(), name, key)
}

// dpcInitHome is dpcInit in the data dir home.
func dpcInitHome(t *testing.T, home, name, key string) testnode.Node {
	t.Helper()
	out, err := exec.Command(filepath.Join(binDir, "dpc"), "--home", home, "init", "--name", name, "--key", key).CombinedOutput()
	if err != nil {
		t.Fatalf("dpc init: %v\n%s", err, out)
	}
	return testnode.Load(t, filepath.Join(home, "identity"))
}

func TestE2EKeyLoginSignalingAndDiscovery(t *testing.T) {
	h := startHub(t, "127.0.0.1:0", t.TempDir())
	alice := dpcInit(t, "Alice", "ed25519")
	bob := dpcInit(t, "Bob", "rsa") // a D-PC v1-compatible RSA identity
	ta, tb := keyLogin(t, h.URL, alice), keyLogin(t, h.URL, bob)

	if code := call(t, "PUT", h.URL+"/profile", ta.AccessToken, map[string]any{"name": "Alice", "expertise": map[string]int{"go": 5},
		"uris": []string{"dpc://127.0.0.1:8888?node_id=" + alice.NodeID}}, nil); code != 200 {
		t.Fatalf("publish profile: %d", code)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wsURL := "ws://" + h.Addr + "/ws/signal"
	ca, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + ta.AccessToken}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ca.CloseNow()
	// D-PC's clients pass the token in the query.
	cb, _, err := websocket.Dial(ctx, wsURL+"?token="+tb.AccessToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.CloseNow()
	readMsg := func(c *websocket.Conn) map[string]any {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []*websocket.Conn{ca, cb} {
		if m := readMsg(c); m["type"] != "auth_ok" {
			t.Fatalf("want auth_ok, got %v", m)
		}
	}

	var presence struct {
		Online bool   `json:"online"`
		Name   string `json:"name"`
	}
	if code := call(t, "GET", h.URL+"/profile/"+alice.NodeID, tb.AccessToken, nil, &presence); code != 200 || presence.Name != "Alice" || !presence.Online {
		t.Fatalf("Bob looks Alice up: %d %+v", code, presence)
	}

	sig := fmt.Sprintf(`{"type":"signal","target_node_id":%q,"sender_node_id":"dpc-node-00000000000000000000000000000000","payload":{"type":"offer","offer":{"type":"offer","sdp":"v=0"}}}`, alice.NodeID)
	if err := cb.Write(ctx, websocket.MessageText, []byte(sig)); err != nil {
		t.Fatal(err)
	}
	if m := readMsg(ca); m["type"] != "signal" || m["sender_node_id"] != bob.NodeID {
		t.Fatalf("Alice got %v: want a signal from Bob's node_id", m)
	}
}

func TestE2ELogoutSurvivesHubRestart(t *testing.T) {
	data := t.TempDir()
	// Restarted on the same address: a port no other socket can take meanwhile.
	h := startHub(t, fmt.Sprintf("127.0.0.1:%d", sdktest.ReservePort(t)), data)
	n := dpcInit(t, "Carol", "ed25519")
	loggedOut := keyLogin(t, h.URL, n)
	kept := keyLogin(t, h.URL, n)
	if code := call(t, "POST", h.URL+"/logout", loggedOut.AccessToken, nil, nil); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	h.stop(t)

	// The same data dir and address: the same hub, restarted.
	h2 := startHub(t, h.Addr, data)
	var e tokens
	if code := call(t, "GET", h2.URL+"/profile", loggedOut.AccessToken, nil, &e); code != 401 || e.Error != "token_revoked" {
		t.Fatalf("logged-out access token after restart: want 401 token_revoked, got %d %+v", code, e)
	}
	if code := call(t, "POST", h2.URL+"/refresh", "", map[string]string{"refresh_token": loggedOut.RefreshToken}, &e); code != 401 || e.Error != "token_revoked" {
		t.Fatalf("logged-out refresh token after restart: want 401 token_revoked, got %d %+v", code, e)
	}
	// The other login is untouched, and its refresh token still rotates.
	if code := call(t, "GET", h2.URL+"/profile", kept.AccessToken, nil, &e); code != 404 || e.Error != "not_found" {
		t.Fatalf("other login after restart: want 404 not_found (no profile yet), got %d %+v", code, e)
	}
	var next tokens
	if code := call(t, "POST", h2.URL+"/refresh", "", map[string]string{"refresh_token": kept.RefreshToken}, &next); code != 200 || next.RefreshToken == kept.RefreshToken {
		t.Fatalf("refresh after restart: %d %+v", code, next)
	}
}

func TestE2EOperatorErrors(t *testing.T) {
	h := startHub(t, "127.0.0.1:0", t.TempDir())
	cases := map[string]struct {
		args []string
		want string
	}{
		"address taken":       {[]string{"--listen", h.Addr, "--data", t.TempDir()}, "address already in use"},
		"no data dir":         {[]string{"--listen", "127.0.0.1:0"}, "--data is required"},
		"unknown flag":        {[]string{"--data", t.TempDir(), "--bogus"}, "unknown flag: --bogus"},
		"every interface":     {[]string{"--listen", "0.0.0.0:0", "--data", t.TempDir()}, "set --public-url"},
		"tls half given":      {[]string{"--listen", "127.0.0.1:0", "--data", t.TempDir(), "--tls-cert", "x.pem"}, "--tls-cert and --tls-key go together"},
		"negative rate limit": {[]string{"--listen", "127.0.0.1:0", "--data", t.TempDir(), "--rate-login", "-1"}, "--rate-login -1"},
		"turn flag without --turn": {[]string{"--listen", "127.0.0.1:0", "--data", t.TempDir(), "--turn-ttl", "5m"},
			"--turn-ttl configure the TURN server, which runs only with --turn"},
		"turn on every interface behind a name": {[]string{"--listen", "127.0.0.1:0", "--data", t.TempDir(), "--public-url", "https://hub.example.org",
			"--turn", "--turn-listen", "0.0.0.0:3478"}, "set --turn-public-ip"},
		"turn ttl over a day": {[]string{"--listen", "127.0.0.1:0", "--data", t.TempDir(), "--turn", "--turn-ttl", "48h"}, "--turn-ttl 48h0m0s: want whole seconds from 1m to 24h"},
		"turn relay ports inverted": {[]string{"--listen", "127.0.0.1:0", "--data", t.TempDir(), "--turn", "--turn-relay-ports", "60000-50000"},
			"--turn-relay-ports \"60000-50000\": want LOW-HIGH"},
		"turn listen on a name": {[]string{"--listen", "127.0.0.1:0", "--data", t.TempDir(), "--turn", "--turn-listen", "localhost:3478"},
			"the host must be an IP address"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, filepath.Join(binDir, "dpc-hub"), tc.args...).CombinedOutput()
			if err == nil || ctx.Err() != nil {
				t.Fatalf("want a fast failure, got %v (%v)\n%s", err, ctx.Err(), out)
			}
			if !bytes.Contains(out, []byte(tc.want)) {
				t.Fatalf("want %q in\n%s", tc.want, out)
			}
		})
	}
}
