package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/plugins"
)

// binDir holds bin/dpc and bin/plugins/dpc-plugin-fixture, built once.
var binDir string

func TestMain(m *testing.M) {
	// The suite runs real nodes and plugins as subprocesses and takes
	// minutes: go test -short (make test-fast) skips it before building.
	flag.Parse()
	if testing.Short() {
		// m.Run with no test selected still reports PASS, so that go
		// test caches the skip.
		_ = flag.Set("test.run", "^$")
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "dpc-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = filepath.Join(dir, "bin")
	builds := [][2]string{
		{filepath.Join(binDir, "dpc"), "github.com/dpc-go/dpc/host/cmd/dpc"},
		{filepath.Join(binDir, "plugins", "dpc-plugin-fixture"), "github.com/dpc-go/dpc/host/internal/fixtureplugin/cmd/dpc-plugin-fixture"},
		{filepath.Join(binDir, "plugins", "dpc-plugin-transport-direct"), "github.com/dpc-go/dpc/plugins/transport-direct"},
		{filepath.Join(binDir, "plugins", "dpc-plugin-backup-file"), "github.com/dpc-go/dpc/plugins/backup-file"},
		{filepath.Join(binDir, "plugins", "dpc-plugin-llm-local"), "github.com/dpc-go/dpc/plugins/llm-local"},
		{filepath.Join(binDir, "plugins", "dpc-plugin-llm-openai"), "github.com/dpc-go/dpc/plugins/llm-openai"},
		{filepath.Join(binDir, "plugins", "dpc-plugin-llm-ollama"), "github.com/dpc-go/dpc/plugins/llm-ollama"},
		{filepath.Join(binDir, "plugins", "dpc-plugin-hub-dpc"), "github.com/dpc-go/dpc/plugins/hub-dpc"},
		{filepath.Join(binDir, "plugins", "dpc-plugin-transport-webrtc"), "github.com/dpc-go/dpc/plugins/transport-webrtc"},
		{filepath.Join(binDir, "dpc-hub"), "github.com/dpc-go/dpc/hub/cmd/dpc-hub"},
	}
	for _, b := range builds {
		out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", b[1], err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// node is one throwaway data directory.
type node struct {
	t    *testing.T
	home string
	name string // node.name in dpc.hcl; "" means "test"
	// nodeAttrs are more attributes of the node block of dpc.hcl.
	nodeAttrs string
}

func newNode(t *testing.T) *node {
	t.Helper()
	return &node{t: t, home: filepath.Join(t.TempDir(), "home")}
}

func (n *node) cmd(args ...string) *exec.Cmd {
	c := exec.Command(filepath.Join(binDir, "dpc"), append([]string{"--home", n.home}, args...)...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DPC_") {
			env = append(env, kv)
		}
	}
	c.Env = env
	return c
}

// dpc runs a command to completion and returns stdout, stderr and the exit code.
func (n *node) dpc(args ...string) (string, string, int) {
	n.t.Helper()
	c := n.cmd(args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		n.t.Fatalf("dpc %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// must runs a command that has to succeed.
func (n *node) must(args ...string) string {
	n.t.Helper()
	out, errs, code := n.dpc(args...)
	if code != 0 {
		n.t.Fatalf("dpc %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errs)
	}
	return out
}

// writeConfig replaces dpc.hcl; the API always binds a free port.
func (n *node) writeConfig(plugins string) {
	n.t.Helper()
	name := n.name
	if name == "" {
		name = "test"
	}
	node := fmt.Sprintf("node { name = %q }\n", name)
	if n.nodeAttrs != "" {
		node = fmt.Sprintf("node {\n  name = %q\n  %s\n}\n", name, n.nodeAttrs)
	}
	cfg := node + "api { listen = \"127.0.0.1:0\" }\n" + plugins
	if err := os.WriteFile(filepath.Join(n.home, "dpc.hcl"), []byte(cfg), 0o644); err != nil {
		n.t.Fatal(err)
	}
}

// daemon is a `dpc run` in the background.
type daemon struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

// syncBuffer is a bytes.Buffer that a process writes while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (n *node) start(args ...string) *daemon {
	n.t.Helper()
	c := n.cmd(append([]string{"run"}, args...)...)
	d := &daemon{cmd: c, stderr: &syncBuffer{}, done: make(chan error, 1)}
	c.Stderr = d.stderr
	if err := c.Start(); err != nil {
		n.t.Fatal(err)
	}
	go func() { d.done <- c.Wait() }()
	n.t.Cleanup(func() {
		_ = c.Process.Signal(syscall.SIGKILL)
		<-d.done
	})
	return d
}

// status asks the running node for its plugins' status.
func (n *node) status() ([]plugins.Status, error) {
	d := home.Dir(n.home)
	c, err := api.Dial(d.APISocket(), d.APIToken())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var st []plugins.Status
	return st, c.Get(ctx, "/v1/plugins", &st)
}

// waitStatus polls until ok accepts the status of the plugin id, or fails.
func (n *node) waitStatus(d *daemon, id string, timeout time.Duration, what string, ok func(plugins.Status) bool) plugins.Status {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	var last plugins.Status
	for time.Now().Before(deadline) {
		select {
		case err := <-d.done:
			d.done <- err // for the cleanup, which waits for the exit too
			n.t.Fatalf("dpc run exited (%v) while waiting for %s\nstderr:\n%s", err, what, d.stderr)
		default:
		}
		st, err := n.status()
		if err == nil {
			for _, s := range st {
				if s.ID == id {
					last = s
					if ok(s) {
						return s
					}
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.t.Fatalf("timed out after %s waiting for %s; last status %+v\nstderr:\n%s", timeout, what, last, d.stderr)
	return last
}

// alive tells whether a process exists (and is not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b))
	return len(fields) > 2 && fields[2] != "Z"
}

func waitGone(t *testing.T, pid int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process %d still alive after %s", pid, timeout)
}

// initWithFixture initializes a node that runs the fixture plugin, pinned.
func initWithFixture(t *testing.T, fixtureConfig string) *node {
	n := newNode(t)
	n.must("init")
	n.writeConfig("plugin \"backup\" \"fixture\" {\n  config {\n" + fixtureConfig + "\n  }\n}\n")
	n.must("plugin", "lock")
	return n
}
