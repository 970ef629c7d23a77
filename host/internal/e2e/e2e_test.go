package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/plugins"
)

var nodeIDRE = regexp.MustCompile(`dpc-node-[0-9a-f]{32}`)

func TestInitAndID(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args    []string
		wantKey string
	}{
		"ed25519 by default": {args: []string{"init"}, wantKey: "ed25519"},
		"rsa on request":     {args: []string{"init", "--key", "rsa"}, wantKey: "rsa"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t)
			initOut := n.must(tc.args...)
			id := nodeIDRE.FindString(initOut)
			if id == "" {
				t.Fatalf("init: want a node_id in the output, got:\n%s", initOut)
			}
			fi, err := os.Stat(filepath.Join(n.home, "identity", "node.key"))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("node.key: want mode 0600, got %v (err %v)", fi.Mode().Perm(), err)
			}
			out := n.must("id")
			for _, want := range []string{"node_id      " + id, "key          " + tc.wantKey, "fingerprint  ",
				"addresses    none: the node is not running"} {
				if !strings.Contains(out, want) {
					t.Errorf("id: want %q in the output, got:\n%s", want, out)
				}
			}
			if _, errs, code := n.dpc("init"); code == 0 || !strings.Contains(errs, "already has an identity") {
				t.Errorf("second init: want a refusal, got exit %d: %s", code, errs)
			}
		})
	}
}

func TestCorruptOrMissingKeyIsNeverReplaced(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	if _, errs, code := n.dpc("id"); code == 0 || !strings.Contains(errs, "dpc init") {
		t.Errorf("id before init: want an error telling to run dpc init, got exit %d: %s", code, errs)
	}
	n.must("init")
	keyPath := filepath.Join(n.home, "identity", "node.key")
	if err := os.WriteFile(keyPath, []byte("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"id"}, {"run"}} {
		_, errs, code := n.dpc(args...)
		if code == 0 || !strings.Contains(errs, "node.key") {
			t.Errorf("%v with a corrupt key: want an error naming node.key, got exit %d: %s", args, code, errs)
		}
	}
	b, _ := os.ReadFile(keyPath)
	if !strings.Contains(string(b), "garbage") {
		t.Errorf("the corrupt key file was replaced; it must be left for the user to restore")
	}
}

func TestTamperedPluginIsRefused(t *testing.T) {
	t.Parallel()
	n := initWithFixture(t, "    limit = 2")
	if out := n.must("plugin", "verify"); !strings.Contains(out, "ok    fixture") {
		t.Fatalf("verify: want fixture ok, got:\n%s", out)
	}
	// A copy in $DPC_HOME/plugins shadows bin/plugins; change one byte of it.
	src, err := os.ReadFile(filepath.Join(binDir, "plugins", "dpc-plugin-fixture"))
	if err != nil {
		t.Fatal(err)
	}
	src[len(src)/2] ^= 0xff
	if err := os.WriteFile(filepath.Join(n.home, "plugins", "dpc-plugin-fixture"), src, 0o755); err != nil {
		t.Fatal(err)
	}
	out, errs, code := n.dpc("plugin", "verify")
	if code == 0 || !strings.Contains(out, "FAIL  fixture") || !strings.Contains(errs, "plugin fixture:") {
		t.Errorf("verify of a changed binary: want non-zero exit naming fixture, got exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	_, errs, code = n.dpc("run")
	if code == 0 || !strings.Contains(errs, "plugin fixture") || !strings.Contains(errs, "does not match its pinned sha256") {
		t.Errorf("run with a changed binary: want a refusal naming fixture, got exit %d: %s", code, errs)
	}
	if out := n.must("plugin", "list"); !strings.Contains(out, "MISMATCH") {
		t.Errorf("list: want MISMATCH shown for fixture, got:\n%s", out)
	}
}

func TestConfigErrorsCarryPositions(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		fixtureConfig string
		want          string
	}{
		"unknown attribute, checked by the host against the plugin's schema": {
			fixtureConfig: "    limti = 3", want: "dpc.hcl:5:5: Unsupported argument",
		},
		"wrong type, checked by the host": {
			fixtureConfig: "    limit = \"many\"", want: "dpc.hcl:5:",
		},
		"value the plugin itself rejects, mapped back to its attribute": {
			fixtureConfig: "    limit = -4", want: "dpc.hcl:5:13: must be positive, got -4",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n := initWithFixture(t, tc.fixtureConfig)
			_, errs, code := n.dpc("run")
			if code == 0 || !strings.Contains(errs, tc.want) {
				t.Errorf("run: want exit != 0 and %q, got exit %d:\n%s", tc.want, code, errs)
			}
		})
	}
	t.Run("syntax error in dpc.hcl", func(t *testing.T) {
		t.Parallel()
		n := newNode(t)
		n.must("init")
		n.writeConfig("plugin \"backup\" {\n")
		_, errs, code := n.dpc("id")
		if code == 0 || !regexp.MustCompile(`dpc\.hcl:\d+:\d+: `).MatchString(errs) {
			t.Errorf("id: want a file:line:column error, got exit %d: %s", code, errs)
		}
	})
}

func TestKilledPluginIsRestartedAndReconfigured(t *testing.T) {
	t.Parallel()
	n := initWithFixture(t, "    limit = 2")
	d := n.start()
	first := n.waitStatus(d, "backup/fixture", 60*time.Second, "fixture running", func(s plugins.Status) bool {
		return s.State == plugins.StateRunning && s.PID != 0
	})
	killedAt := time.Now()
	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	second := n.waitStatus(d, "backup/fixture", 60*time.Second, "fixture restarted", func(s plugins.Status) bool {
		return s.State == plugins.StateRunning && s.PID != first.PID && s.PID != 0 && s.LastPing.After(killedAt)
	})
	if second.Restarts != 1 {
		t.Errorf("restarts: want 1, got %d", second.Restarts)
	}
	if out := n.must("plugin", "status"); !strings.Contains(out, "backup/fixture") || !strings.Contains(out, "running") {
		t.Errorf("plugin status: want backup/fixture running, got:\n%s", out)
	}
	calls := filepath.Join(n.home, "plugin-data", "fixture", "calls.log")
	if b, _ := os.ReadFile(calls); strings.Count(string(b), "configure") != 2 {
		t.Errorf("calls.log: want the plugin configured again after its restart (2 configure lines), got:\n%s", b)
	}

	// SIGTERM: every plugin is shut down gracefully, none is left behind.
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("dpc run after SIGTERM: want exit 0, got %v\n%s", err, d.stderr)
		}
		d.done <- err
	case <-time.After(time.Minute):
		t.Fatalf("dpc run did not stop within a minute of SIGTERM")
	}
	waitGone(t, second.PID, 60*time.Second)
	if b, _ := os.ReadFile(calls); !strings.HasSuffix(string(b), "shutdown pid="+itoa(second.PID)+"\n") {
		t.Errorf("calls.log: want a graceful shutdown of pid %d last, got:\n%s", second.PID, b)
	}
}

func TestCrashLoopingPluginIsGivenUp(t *testing.T) {
	t.Parallel()
	n := initWithFixture(t, "    crash_on_configure = true")
	d := n.start()
	st := n.waitStatus(d, "backup/fixture", 60*time.Second, "fixture given up", func(s plugins.Status) bool {
		return s.State == plugins.StateFailed
	})
	if !strings.Contains(st.LastError, "crash-looping") || !strings.Contains(st.LastError, "gave up after 5 restarts") {
		t.Errorf("last error: want a crash-loop explanation, got %q", st.LastError)
	}
	out := n.must("plugin", "status")
	if !strings.Contains(out, "failed") || !strings.Contains(out, "crash-looping") {
		t.Errorf("plugin status: want the failure and its reason, got:\n%s", out)
	}
	// The node itself keeps running.
	select {
	case err := <-d.done:
		d.done <- err // for the cleanup, which waits for the exit too
		t.Fatalf("dpc run exited (%v); a crash-looping plugin must not take the node down", err)
	default:
	}
}

func TestHostKilledLeavesNoPluginBehind(t *testing.T) {
	t.Parallel()
	n := initWithFixture(t, "    limit = 2")
	d := n.start()
	st := n.waitStatus(d, "backup/fixture", 60*time.Second, "fixture running", func(s plugins.Status) bool {
		return s.State == plugins.StateRunning && s.PID != 0
	})
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, st.PID, 60*time.Second)
}

func TestPluginStatusWithoutNode(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	n.must("init")
	if _, errs, code := n.dpc("plugin", "status"); code == 0 || !strings.Contains(errs, "dpc is not running") {
		t.Errorf("status without a node: want 'dpc is not running', got exit %d: %s", code, errs)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
