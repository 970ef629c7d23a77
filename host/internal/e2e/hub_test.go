package e2e

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// hubProc is a bin/dpc-hub on a port that survives its restarts.
type hubProc struct {
	t    *testing.T
	port int
	data string
	// args are more dpc-hub flags.
	args []string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

func newHub(t *testing.T, args ...string) *hubProc {
	t.Helper()
	h := &hubProc{t: t, port: sdktest.ReservePort(t), data: filepath.Join(t.TempDir(), "hub"), args: args}
	h.start()
	return h
}

func (h *hubProc) url() string { return fmt.Sprintf("http://127.0.0.1:%d", h.port) }

// start runs the hub and waits until it answers /health.
func (h *hubProc) start() {
	h.t.Helper()
	args := append([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", h.port), "--data", h.data}, h.args...)
	c := exec.Command(filepath.Join(binDir, "dpc-hub"), args...)
	h.out, h.done, h.cmd = &syncBuffer{}, make(chan error, 1), c
	c.Stdout, c.Stderr = h.out, h.out
	if err := c.Start(); err != nil {
		h.t.Fatal(err)
	}
	done := h.done
	go func() { done <- c.Wait() }()
	h.t.Cleanup(func() {
		_ = c.Process.Signal(syscall.SIGKILL)
		err := <-done
		done <- err
	})
	waitFor(h.t, time.Minute, "the hub to answer /health", func() bool {
		select {
		case err := <-done:
			done <- err
			h.t.Fatalf("dpc-hub exited (%v):\n%s", err, h.out)
		default:
		}
		return exec.Command("curl", "-sf", h.url()+"/health").Run() == nil
	})
}

// kill ends the hub at once, as a crash would.
func (h *hubProc) kill() {
	h.t.Helper()
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	err := <-h.done
	h.done <- err
}

// hubPlugin is the dpc.hcl block for a hub at url.
func hubPlugin(url string) string {
	return fmt.Sprintf("plugin \"hub\" \"hub-dpc\" {\n  config { url = %q }\n}\n", url)
}

// waitHubStatus polls `dpc hub status` until its status line says want.
func (p *peer) waitHubStatus(want string) string {
	p.t.Helper()
	var out string
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		out, _, _ = p.dpc("hub", "status")
		if strings.HasPrefix(out, "status   "+want+" ") {
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("%s: timed out waiting for hub status %s; last:\n%s\nlog:\n%s", p.name, want, out, p.d.stderr)
	return ""
}

// TestHubLoginStatusAndLookup is the CLI contract: a node logs in with
// dpc hub login, dpc hub status says online, and dpc lookup of another
// logged-in node shows its display name and online.
func TestHubLoginStatusAndLookup(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	a, b := newPeerWith(t, "alice", hubPlugin(h.url())), newPeerWith(t, "bob", hubPlugin(h.url()))
	a.run()
	b.run()
	if out := a.must("hub", "status"); !strings.Contains(out, "offline") {
		t.Errorf("hub status before login: want offline, got:\n%s", out)
	}
	if _, errs, code := a.dpc("lookup", b.id); code == 0 || !strings.Contains(errs, "dpc hub login") {
		t.Errorf("lookup before login: want an error saying to log in, got exit %d: %s", code, errs)
	}
	a.must("hub", "login")
	b.must("hub", "login")
	if out := a.must("hub", "status"); !strings.Contains(out, "online") {
		t.Errorf("hub status after login: want online, got:\n%s", out)
	}
	b.waitHubStatus("online")
	out := a.must("lookup", b.id)
	if !strings.Contains(out, "bob") || !strings.Contains(out, "online") {
		t.Errorf("lookup: want bob's name and online, got:\n%s", out)
	}
	// bob's dpc.hcl has no profile block: his display name is published,
	// his URIs are not.
	if strings.Contains(out, "dpc connect") {
		t.Errorf("lookup: bob published no URIs, got:\n%s", out)
	}
	if out := a.must("search", "bob"); !strings.Contains(out, b.id) || !strings.Contains(out, "bob") {
		t.Errorf("search bob: want bob's node, got:\n%s", out)
	}
	// Once bob logs out, the hub shows him offline with when it last saw him.
	b.must("hub", "logout")
	if out := b.must("hub", "status"); !strings.HasPrefix(out, "status   offline") {
		t.Errorf("hub status after logout: want offline, got:\n%s", out)
	}
	waitFor(t, 2*time.Minute, "bob offline, last seen, in alice's lookup", func() bool {
		out, _, _ := a.dpc("lookup", b.id)
		return strings.Contains(out, "offline, last seen")
	})
}

// TestProfileFromConfigIsPublished: what dpc.hcl's profile block says,
// and only that, is what others find, with the direct URIs when it says so.
func TestProfileFromConfigIsPublished(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	profile := "profile {\n  description = \"Go and Rust\"\n  expertise = { golang = 4 }\n  publish_uris = true\n}\n"
	a, b := newPeerWith(t, "alice", hubPlugin(h.url())+profile), newPeerWith(t, "bob", hubPlugin(h.url()))
	a.run()
	b.run()
	if out := a.must("profile", "show"); !strings.Contains(out, "Go and Rust") || !strings.Contains(out, a.uri()) {
		t.Errorf("profile show: want the description and the URI, got:\n%s", out)
	}
	if _, errs, code := a.dpc("profile", "publish"); code == 0 || !strings.Contains(errs, "dpc hub login") {
		t.Errorf("profile publish before login: want an error saying to log in, got exit %d: %s", code, errs)
	}
	a.must("hub", "login")
	b.must("hub", "login")
	a.must("profile", "publish")
	out := b.must("lookup", a.id)
	for _, want := range []string{"alice", "Go and Rust", "golang=4", "dpc connect '" + a.uri() + "'"} {
		if !strings.Contains(out, want) {
			t.Errorf("lookup: want %q, got:\n%s", want, out)
		}
	}
	if out := b.must("search", "golang", "--json"); !strings.Contains(out, a.id) {
		t.Errorf("search golang: want alice, got:\n%s", out)
	}
}

// TestNoHubPluginSaysHowToAddOne: without a hub plugin the hub commands say
// what to add to dpc.hcl.
func TestNoHubPluginSaysHowToAddOne(t *testing.T) {
	t.Parallel()
	a := newPeer(t, "alice")
	a.run()
	for _, args := range [][]string{{"hub", "login"}, {"lookup", a.id}, {"search", "x"}, {"profile", "publish"}} {
		if _, errs, code := a.dpc(args...); code == 0 || !strings.Contains(errs, `plugin "hub" "hub-dpc"`) {
			t.Errorf("%v: want an error naming the plugin block to add, got exit %d: %s", args, code, errs)
		}
	}
}

// TestDirectChatSurvivesHubOutage: two nodes chatting directly keep
// chatting while the hub is killed; hub status says hub_offline, and online
// again by itself once the hub is back.
func TestDirectChatSurvivesHubOutage(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	a, b := newPeerWith(t, "alice", hubPlugin(h.url())), newPeerWith(t, "bob", hubPlugin(h.url()))
	a.run()
	b.run()
	a.must("hub", "login")
	b.must("hub", "login")
	a.waitHubStatus("online")
	contacts(t, a, b)

	h.kill()
	a.waitHubStatus("hub_offline")
	a.must("send", b.id, "the hub is down")
	b.waitHistory(a, time.Minute, "a message while the hub is down", func(l []string) bool {
		return countContaining(l, "< the hub is down") == 1
	})
	b.must("send", a.id, "still here")
	a.waitHistory(b, time.Minute, "an answer while the hub is down", func(l []string) bool {
		return countContaining(l, "< still here") == 1
	})

	h.start()
	a.waitHubStatus("online")
	b.waitHubStatus("online")
}

// TestRestartedNodeResumesHubLogin: a node restarted while logged in is
// online again without a new login, from its cached session, and the
// store holds no refresh token in clear.
func TestRestartedNodeResumesHubLogin(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	a := newPeerWith(t, "alice", hubPlugin(h.url()))
	a.run()
	out := a.must("hub", "login", "--json")
	if !strings.Contains(out, `"status": "online"`) {
		t.Fatalf("hub login --json: want online, got:\n%s", out)
	}
	a.stop()
	a.run()
	a.waitHubStatus("online")
	if log := a.d.stderr.String(); strings.Contains(log, "logged in: hub=") || !strings.Contains(log, "resumed the hub login") {
		t.Errorf("the restarted node did not resume its login (or logged in anew):\n%s", log)
	}
	a.stop()
	// hub-dpc's session is JSON holding the hub's URL and the refresh
	// token as "refresh_token": in clear, both would show in the store.
	for _, marker := range []string{`"refresh_token"`, h.url()} {
		if f := grepDir(t, home.Dir(a.home).DB(), marker); f != "" {
			t.Errorf("%s holds %q in clear", f, marker)
		}
	}
}

// grepDir returns the first file under dir that contains s, or "".
func grepDir(t *testing.T, dir, s string) string {
	t.Helper()
	found := ""
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			found = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
