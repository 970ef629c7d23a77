package node_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/config"
	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/node"
)

// waitLimit bounds every wait for an event on a loaded machine.
const waitLimit = time.Minute

// newHome makes a data directory with an identity and the dpc.hcl of
// testdata/<configFile>, and returns it with its node_id.
func newHome(t *testing.T, configFile string) (home.Dir, string) {
	t.Helper()
	d := home.Dir(filepath.Join(t.TempDir(), "home"))
	if err := os.MkdirAll(d.String(), 0o700); err != nil {
		t.Fatal(err)
	}
	id, err := identity.Create(d.Identity(), identity.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", configFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.Config(), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return d, id.NodeID
}

// logWatch is a node's log output; running is closed once the node logs
// that it runs.
type logWatch struct {
	mu      sync.Mutex
	text    strings.Builder
	running chan struct{}
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.text.Write(p)
	if strings.Contains(w.text.String(), "node running") {
		select {
		case <-w.running:
		default:
			close(w.running)
		}
	}
	return len(p), nil
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.text.String()
}

// running is one node.Run in the background.
type running struct {
	log  *logWatch
	stop context.CancelFunc
	done chan error
}

// start runs a node on d; it is stopped when the test ends.
func start(t *testing.T, d home.Dir) *running {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{Path: d.Config(), Vars: map[string]string{"home": d.String()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	r := &running{log: &logWatch{running: make(chan struct{})}, stop: stop, done: make(chan error, 1)}
	logger := hclog.New(&hclog.LoggerOptions{Name: "dpc", Output: r.log, Level: hclog.Info})
	go func() {
		r.done <- node.Run(ctx, node.Options{Home: d, Config: cfg, Logger: logger, LogLevel: hclog.Info, Version: "test"})
	}()
	t.Cleanup(func() {
		stop()
		select {
		case <-r.done:
		case <-time.After(waitLimit):
			t.Error("the node did not stop")
		}
	})
	return r
}

// waitRunning waits until the node logs that it runs, or fails if Run
// returns first.
func (r *running) waitRunning(t *testing.T) {
	t.Helper()
	select {
	case <-r.log.running:
	case err := <-r.done:
		t.Fatalf("Run returned before the node ran: %v\n%s", err, r.log)
	case <-time.After(waitLimit):
		t.Fatalf("the node never logged that it runs:\n%s", r.log)
	}
}

// result waits for Run to return.
func (r *running) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(waitLimit):
		t.Fatalf("Run did not return:\n%s", r.log)
		return nil
	}
}

// TestNodeStartsServesStopsAndRestarts: a node on a fresh data directory
// writes its default personal context, answers on its API socket with its
// own identity, refuses a second node on the same directory while it runs,
// stops cleanly when its context ends (its socket gone), and starts again
// on the same directory (the store's lock was released).
func TestNodeStartsServesStopsAndRestarts(t *testing.T) {
	t.Parallel()
	d, nodeID := newHome(t, "dpc.hcl")
	first := start(t, d)
	first.waitRunning(t)

	c, err := api.Dial(d.APISocket(), d.APIToken())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var info api.NodeInfo
	if err := c.Get(ctx, "/v1/node", &info); err != nil {
		t.Fatal(err)
	}
	if info.NodeID != nodeID || info.Name != "Gopher" || info.Version != "test" {
		t.Errorf("/v1/node = %+v, want node_id %s, name Gopher, version test", info, nodeID)
	}
	if len(info.Listening) != 0 {
		t.Errorf("no transport is configured, yet the node listens on %v", info.Listening)
	}
	if _, err := os.Stat(d.Personal()); err != nil {
		t.Errorf("no default personal context written: %v", err)
	}

	second := start(t, d)
	if err := second.result(t); !errors.Is(err, api.ErrAlreadyRunning) {
		t.Errorf("a second node on the same home: %v, want ErrAlreadyRunning", err)
	}

	first.stop()
	if err := first.result(t); err != nil {
		t.Fatalf("a stopped node returns %v, want nil\n%s", err, first.log)
	}
	if !strings.Contains(first.log.String(), "shutting down") {
		t.Errorf("no shutdown in the log:\n%s", first.log)
	}
	if _, err := os.Stat(d.APISocket()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the API socket outlives the node: %v", err)
	}

	again := start(t, d)
	again.waitRunning(t)
	again.stop()
	if err := again.result(t); err != nil {
		t.Errorf("restart on the same home: %v", err)
	}
}

// TestNodeRefusesToStart: what is wrong with a data directory stops Run at
// once with an error naming it, and nothing is left listening.
func TestNodeRefusesToStart(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		config string
		spoil  func(t *testing.T, d home.Dir)
		want   string
	}{
		"no identity": {
			config: "dpc.hcl",
			spoil: func(t *testing.T, d home.Dir) {
				if err := os.RemoveAll(d.Identity()); err != nil {
					t.Fatal(err)
				}
			},
			want: "identity",
		},
		"an enabled plugin is not installed": {config: "missing-plugin.hcl", want: "transport-direct"},
		"home writable by others": {
			config: "dpc.hcl",
			spoil: func(t *testing.T, d home.Dir) {
				if err := os.Chmod(d.String(), 0o775); err != nil {
					t.Fatal(err)
				}
			},
			want: "chmod 700",
		},
		"broken firewall rules": {
			config: "dpc.hcl",
			spoil: func(t *testing.T, d home.Dir) {
				b, err := os.ReadFile(filepath.Join("testdata", "firewall-broken.hcl"))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(d.Firewall(), b, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want: "firewall.hcl",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d, _ := newHome(t, tc.config)
			if tc.spoil != nil {
				tc.spoil(t, d)
			}
			r := start(t, d)
			err := r.result(t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want an error mentioning %q", err, tc.want)
			}
			t.Logf("refused: %v", err)
			if _, err := os.Stat(d.APISocket()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a node that did not start left its API socket: %v", err)
			}
		})
	}
}
