package hubdpc

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// hubBin is the real dpc-hub, built from the workspace by TestMain.
var hubBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// -short: the tests against a real hub skip (startHub), so no build.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "hub-dpc-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hubBin = filepath.Join(dir, "dpc-hub")
	build := exec.Command("go", "build", "-o", hubBin, "github.com/dpc-go/dpc/hub/cmd/dpc-hub")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building dpc-hub (the tests need the go.work workspace):", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// waitLimit is how long a test waits for an event before it fails: long,
// because a loaded 2-core machine is slow; a passing test never waits it.
const waitLimit = 2 * time.Minute

// hubProc is a running dpc-hub.
type hubProc struct {
	cmd  *exec.Cmd
	URL  string
	Addr string
	done chan error
}

var listeningRE = regexp.MustCompile(`listening: addr=(\S+)`)

// startHub starts dpc-hub on listen (host:port; port 0 picks one) with its
// data in data, rate limits off, more flags in extra, and waits for its "listening" line.
func startHub(t *testing.T, listen, data string, extra ...string) *hubProc {
	t.Helper()
	if hubBin == "" {
		t.Skip("needs the dpc-hub binary, which is not built under -short")
	}
	args := append([]string{"--listen", listen, "--data", data,
		"--rate-login", "0", "--rate-api", "0", "--rate-ip", "0", "--rate-signal", "0"}, extra...)
	cmd := exec.Command(hubBin, args...)
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
	case <-time.After(waitLimit):
		t.Fatal("dpc-hub did not report listening")
	}
	return h
}

// stop sends SIGTERM and waits for the hub to exit.
func (h *hubProc) stop(t *testing.T) {
	if h.done == nil {
		return
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(waitLimit):
		_ = h.cmd.Process.Kill()
		t.Error("dpc-hub did not stop after SIGTERM")
	}
	h.done = nil
}

// node is one plugin served over gRPC with a fake host holding an Ed25519
// node key.
type node struct {
	p     *Plugin
	h     *sdktest.Harness
	hub   sdk.Hub
	ident sdk.HostIdentity
}

// newNode configures a plugin for hubURL; host, if not nil, is the fake
// host of an earlier node (the same node, restarted).
func newNode(t *testing.T, hubURL, name string, host *sdktest.FakeHost) *node {
	t.Helper()
	p := &Plugin{}
	h := sdktest.New(t, p)
	if host != nil {
		h.Host = host
	}
	ident := h.Host.UseKeyIdentity(t, name)
	if err := h.Configure(t, &Config{URL: hubURL}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return &node{p: p, h: h, hub: h.Client.Hub, ident: ident}
}

func (n *node) login(t *testing.T) sdk.LoginResult {
	t.Helper()
	r, err := n.hub.Login(context.Background())
	if err != nil {
		t.Fatalf("Login of %s: %v", n.ident.DisplayName, err)
	}
	return r
}

// signals runs Signals until the test ends; received signals go to the
// returned channel, Signals' error to errc.
func (n *node) signals(t *testing.T) (<-chan sdk.IncomingSignal, <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan sdk.IncomingSignal, 16)
	errc := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		errc <- n.hub.Signals(ctx, func(s sdk.IncomingSignal) error { in <- s; return nil })
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return in, errc
}

// countEvents counts the events of type typ the host got.
func countEvents(host *sdktest.FakeHost, typ string) int {
	n := 0
	for _, e := range host.Events() {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// waitHost waits until cond holds, re-checking each time the fake host
// records a callback.
func waitHost(t *testing.T, host *sdktest.FakeHost, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		changed := host.Changed()
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("waiting for %s: gave up; events %+v", what, host.Events())
		}
	}
}

// waitEvents waits until the host got at least n events of type typ.
func waitEvents(t *testing.T, host *sdktest.FakeHost, typ string, n int) {
	t.Helper()
	waitHost(t, host, fmt.Sprintf("%d %s events", n, typ), func() bool { return countEvents(host, typ) >= n })
}

// recv waits for one signal.
func recv(t *testing.T, in <-chan sdk.IncomingSignal) sdk.IncomingSignal {
	t.Helper()
	select {
	case s := <-in:
		return s
	case <-time.After(waitLimit):
		t.Fatal("no signal arrived")
		return sdk.IncomingSignal{}
	}
}

func lastSession(t *testing.T, host *sdktest.FakeHost) sdk.HubSession {
	t.Helper()
	s := host.HubSessions()
	if len(s) == 0 {
		t.Fatal("the host got no session")
	}
	return s[len(s)-1]
}
