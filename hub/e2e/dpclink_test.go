package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dpc-go/dpc/hub/internal/oauth/oidctest"
	"github.com/dpc-go/dpc/hub/internal/testnode"
)

// dpcNode is a real node: a data dir made by dpc init, configured with the
// hub-dpc plugin, and `dpc run` in the background.
type dpcNode struct {
	t    *testing.T
	home string
	id   string
	done chan error
}

// startDpcNode inits a node named name whose hub plugin points at hubURL,
// pins its plugins and runs it until its hub service answers.
func startDpcNode(t *testing.T, name, hubURL string) *dpcNode {
	t.Helper()
	n := &dpcNode{t: t, home: filepath.Join(t.TempDir(), "home")}
	n.id = dpcInitHome(t, n.home, name, "ed25519").NodeID
	cfg := fmt.Sprintf("node { name = %q }\napi { listen = \"127.0.0.1:0\" }\nplugin \"hub\" \"hub-dpc\" {\n  config { url = %q }\n}\n", name, hubURL)
	if err := os.WriteFile(filepath.Join(n.home, "dpc.hcl"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	n.must("plugin", "lock")

	c := n.cmd("run")
	stderr, err := c.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	n.done = make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Log("dpc run:", sc.Text())
		}
		n.done <- c.Wait()
	}()
	t.Cleanup(func() {
		_ = c.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(time.Minute):
			_ = c.Process.Kill()
			<-n.done
			t.Error("dpc run did not stop within a minute of SIGTERM")
		}
	})
	// The API answers once the plugins run and the hub service has its
	// plugin.
	n.waitHubStatus("offline", "plugin   hub/hub")
	return n
}

// cmd is a dpc command on this node's data dir, without the caller's DPC_
// environment.
func (n *dpcNode) cmd(args ...string) *exec.Cmd {
	c := exec.Command(filepath.Join(binDir, "dpc"), append([]string{"--home", n.home}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DPC_") {
			c.Env = append(c.Env, kv)
		}
	}
	return c
}

// dpc runs a command to completion: stdout, stderr and the exit code.
func (n *dpcNode) dpc(args ...string) (string, string, int) {
	n.t.Helper()
	c := n.cmd(args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		n.t.Fatalf("dpc %v: %v", args, err)
	}
	return out.String(), errb.String(), 0
}

// must runs a command that has to succeed and returns its stdout.
func (n *dpcNode) must(args ...string) string {
	n.t.Helper()
	out, errs, code := n.dpc(args...)
	if code != 0 {
		n.t.Fatalf("dpc %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errs)
	}
	return out
}

// waitHubStatus polls `dpc hub status` until its status line says want and
// its output holds every one of has.
func (n *dpcNode) waitHubStatus(want string, has ...string) string {
	n.t.Helper()
	var out, errs string
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-n.done:
			n.done <- err // for the cleanup
			n.t.Fatalf("dpc run exited (%v) while waiting for hub status %s", err, want)
		default:
		}
		out, errs, _ = n.dpc("hub", "status")
		ok := strings.HasPrefix(out, "status   "+want+" ")
		for _, h := range has {
			ok = ok && strings.Contains(out, h)
		}
		if ok {
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.t.Fatalf("timed out waiting for hub status %s with %q; last:\n%s%s", want, has, out, errs)
	return ""
}

// accounts is `dpc hub accounts --json`.
func (n *dpcNode) accounts() accountsAnswer {
	n.t.Helper()
	var a accountsAnswer
	if err := json.Unmarshal([]byte(n.must("hub", "accounts", "--json")), &a); err != nil {
		n.t.Fatalf("dpc hub accounts --json: %v", err)
	}
	return a
}

// browseLink walks the link address a dpc hub link printed through the
// provider's real pages (signing in as login) and the hub's callback to
// its final page, which must say the account is linked to node.
func (o oidcHub) browseLink(t *testing.T, printed, login, node string) {
	t.Helper()
	ticketURL := regexp.MustCompile(regexp.QuoteMeta(o.hub.URL) + `/oauth/corp/start\?ticket=\S+`).FindString(printed)
	if ticketURL == "" {
		t.Fatalf("dpc hub link printed no link address of the hub %s:\n%s", o.hub.URL, printed)
	}
	b := oidctest.NewBrowser(t)
	cb := b.Authorize(t, o.provider.Issuer, o.start(t, b, ticketURL), login, o.hub.URL+oidcCallbackPath+"?")
	q := o.callback(t, b, cb)
	if q.Get("status") != "linked" || q.Get("provider") != "corp" || q.Get("node_id") != node {
		t.Fatalf("final redirect: want status=linked provider=corp node_id=%s, got %v", node, q)
	}
	done := b.Get(t, o.hub.URL+"/oauth/done?"+q.Encode())
	if done.Status != 200 || !strings.Contains(done.Body, "Account linked") || !strings.Contains(done.Body, node) {
		t.Fatalf("/oauth/done: %d\n%s", done.Status, done.Body)
	}
}

// TestE2EDpcHubLinkAgainstRealOIDCProvider: a user's node (dpc with the
// real hub-dpc plugin) on a hub with --require-oauth links an account of a
// real OIDC provider with dpc hub link, comes online and is listed;
// unlinked, it is refused again; dpc hub link that waits ends by itself
// once the browser is done.
func TestE2EDpcHubLinkAgainstRealOIDCProvider(t *testing.T) {
	began := time.Now()
	o := startOIDCHub(t)
	alice := startDpcNode(t, "Alice", o.hub.URL)

	// Logged in, the node is held off: the status says why and what to do.
	alice.must("hub", "login")
	alice.waitHubStatus("hub_offline", "requires an account", "dpc hub link", "corp")
	if a := alice.accounts(); !a.Required || len(a.Accounts) != 0 {
		t.Fatalf("dpc hub accounts before linking: %+v", a)
	}

	out := alice.must("hub", "link", "corp", "--no-wait")
	o.browseLink(t, out, "alice", alice.id)
	a := alice.accounts()
	if len(a.Accounts) != 1 || a.Accounts[0].Provider != "corp" || a.Accounts[0].Subject != "alice" || a.Accounts[0].Email != "alice@example.test" {
		t.Fatalf("dpc hub accounts after linking: %+v", a)
	}
	alice.waitHubStatus("online")

	// Another node with an account finds Alice's profile, online.
	bob := testnode.New(t)
	tb := keyLogin(t, o.hub.URL, bob)
	bb := oidctest.NewBrowser(t)
	if q := o.callback(t, bb, o.linkFlow(t, bb, tb.AccessToken, "bob")); q.Get("status") != "linked" {
		t.Fatalf("linking bob: %v", q)
	}
	// The node publishes its held-back profile once it sees the link: in
	// the background after --no-wait, so the lookup waits for it.
	waitProfile(t, o.hub.URL, alice.id, tb.AccessToken, "bob looks Alice up after she linked")

	// Unlinked, the hub refuses Alice again.
	if out := alice.must("hub", "unlink", "corp"); !strings.Contains(out, "unlinked: corp") {
		t.Fatalf("dpc hub unlink corp: %s", out)
	}
	if _, errs, code := alice.dpc("lookup", bob.NodeID); code == 0 || !strings.Contains(errs, "dpc hub link") {
		t.Fatalf("lookup after unlinking: want a refusal saying to run dpc hub link, got exit %d: %s", code, errs)
	}
	// The hub keeps the open socket; the next one is refused, and the
	// status says so.
	alice.must("hub", "login")
	alice.waitHubStatus("hub_offline", "requires an account", "dpc hub link")

	// dpc hub link that waits: it ends by itself once the browser is done.
	link := alice.cmd("hub", "link", "corp")
	stdout, err := link.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var linkErr bytes.Buffer
	link.Stderr = &linkErr
	if err := link.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = link.Process.Kill() })
	rd := bufio.NewReader(stdout)
	var printed strings.Builder
	for !strings.Contains(printed.String(), "/start?ticket=") {
		line, err := rd.ReadString('\n')
		printed.WriteString(line)
		if err != nil {
			t.Fatalf("dpc hub link ended before printing the address (%v):\n%s", err, printed.String())
		}
	}
	o.browseLink(t, printed.String(), "alice", alice.id)
	rest, _ := io.ReadAll(rd)
	if err := link.Wait(); err != nil {
		t.Fatalf("dpc hub link: %v\nstdout: %s%s\nstderr: %s", err, printed.String(), rest, linkErr.String())
	}
	if !strings.Contains(string(rest), "linked: corp alice") {
		t.Fatalf("dpc hub link: want \"linked: corp alice\", got:\n%s%s", printed.String(), rest)
	}
	alice.waitHubStatus("online")
	waitProfile(t, o.hub.URL, alice.id, tb.AccessToken, "bob looks Alice up after she linked again")
	t.Logf("dpc hub link end to end took %s (provider, hub and node start included)", time.Since(began).Round(time.Millisecond))
}

// waitProfile polls GET /profile/{nodeID} until it shows Alice online.
func waitProfile(t *testing.T, hubURL, nodeID, token, what string) {
	t.Helper()
	var prof struct {
		Name   string `json:"name"`
		Online bool   `json:"online"`
	}
	var code int
	deadline := time.Now().Add(time.Minute)
	for {
		if code = call(t, "GET", hubURL+"/profile/"+nodeID, token, nil, &prof); code == http.StatusOK && prof.Name == "Alice" && prof.Online {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d %+v after a minute", what, code, prof)
		}
		<-time.After(50 * time.Millisecond) // between polls of the hub
	}
}
