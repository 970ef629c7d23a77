package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/home"
)

// portHolder is a program that took a TCP port and records every byte
// anyone sends it.
type portHolder struct {
	ln   net.Listener
	mu   sync.Mutex
	got  bytes.Buffer
	done chan struct{}
}

func holdPort(t *testing.T) *portHolder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &portHolder{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// Read one HTTP request head, answer 401 and hang up, as a
			// token thief would.
			var req bytes.Buffer
			buf := make([]byte, 4096)
			for !bytes.Contains(req.Bytes(), []byte("\r\n\r\n")) {
				n, err := c.Read(buf)
				req.Write(buf[:n])
				if err != nil {
					break
				}
			}
			_, _ = io.WriteString(c, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			c.Close()
			h.mu.Lock()
			h.got.Write(req.Bytes())
			h.mu.Unlock()
		}
	}()
	t.Cleanup(func() { h.close() })
	return h
}

func (h *portHolder) addr() string { return h.ln.Addr().String() }

// close stops listening and returns everything received.
func (h *portHolder) close() string {
	h.ln.Close()
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got.String()
}

// setAPIListen points api.listen in dpc.hcl at addr.
func (n *node) setAPIListen(addr string) {
	n.t.Helper()
	path := filepath.Join(n.home, "dpc.hcl")
	b, err := os.ReadFile(path)
	if err != nil {
		n.t.Fatal(err)
	}
	cfg := strings.Replace(string(b), `api { listen = "127.0.0.1:0" }`, fmt.Sprintf("api { listen = %q }", addr), 1)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		n.t.Fatal(err)
	}
}

func (n *node) token() string {
	n.t.Helper()
	b, err := os.ReadFile(home.Dir(n.home).APIToken())
	if err != nil {
		n.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// runAndWait starts `dpc run` with args and waits until its API answers.
func (n *node) runAndWait(args ...string) *daemon {
	n.t.Helper()
	d := n.start(args...)
	n.runAndWaitFor(d)
	return d
}

// exit waits for `dpc run` to end by itself and returns its exit code.
func (d *daemon) exit(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case err := <-d.done:
		d.done <- err
		if err == nil {
			return 0
		}
		return d.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("dpc run still running after %s; want it to exit at once\nstderr:\n%s", within, d.stderr)
		return 0
	}
}

func TestStoppedNodesTokenNeverReachesWhoeverHoldsTheAPIPort(t *testing.T) {
	t.Parallel()
	p := newPeer(t, "Alice")
	p.run()
	p.stop()
	token := p.token()
	if len(token) != 64 {
		t.Fatalf("want a token left in the data directory by the run, got %q", token)
	}
	// While the node is stopped, someone takes the API port in dpc.hcl.
	thief := holdPort(t)
	p.setAPIListen(thief.addr())

	for _, args := range [][]string{{"peers"}, {"plugin", "status"}, {"send", p.id, "hello"}, {"history", p.id}, {"models"}} {
		_, errs, code := p.dpc(args...)
		if code == 0 || !strings.Contains(errs, "not running") {
			t.Errorf("%v with the node stopped: want non-zero exit saying it is not running, got exit %d: %s", args, code, errs)
		}
	}
	if out := p.must("id"); !strings.Contains(out, "node is not running") {
		t.Errorf("id with the node stopped: want it to say so, got:\n%s", out)
	}
	if got := thief.close(); got != "" {
		if strings.Contains(got, token) {
			t.Fatalf("the port holder received the API token:\n%s", got)
		}
		t.Errorf("the CLI talked to the TCP port; want the Unix socket only, it sent:\n%s", got)
	}
}

func TestAPITokenRotatesAtEveryStart(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	n.must("init")
	n.writeConfig("")
	d := n.runAndWait()
	// (This node runs no transport: dpc id says so instead of inventing URIs.)
	if out := n.must("id"); !strings.Contains(out, "addresses    none: the node runs but no transport listens") {
		t.Errorf("id of a node without transports: want it to say nothing listens, got:\n%s", out)
	}
	first := n.token()
	fi, err := os.Stat(home.Dir(n.home).APISocket())
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("api.sock: want a socket with mode 0600, got %v (err %v)", fi.Mode(), err)
	}
	// A second node on the same data directory is refused and leaves the
	// running node's token alone.
	second := n.start()
	if code := second.exit(t, time.Minute); code == 0 || !strings.Contains(second.stderr.String(), "another dpc is running with this data directory") {
		t.Errorf("second dpc run: want a refusal, got exit %d: %s", code, second.stderr)
	}
	if n.token() != first {
		t.Errorf("the refused second run replaced the running node's token")
	}
	n.must("plugin", "status")
	stopDaemon(t, d)
	n.runAndWait()
	if again := n.token(); again == first || len(again) != 64 {
		t.Errorf("token after a restart: want a new 64-char token, got %q (first %q)", again, first)
	}
	n.must("plugin", "status")
}

// stopDaemon ends `dpc run` with SIGTERM and waits for it.
func stopDaemon(t *testing.T, d *daemon) {
	t.Helper()
	_ = d.cmd.Process.Signal(os.Interrupt)
	if code := d.exit(t, time.Minute); code != 0 {
		t.Fatalf("dpc run after Ctrl-C: want exit 0, got %d\n%s", code, d.stderr)
	}
}

func TestSendFileRefusesPathsInsideTheHome(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	n.must("init")
	n.writeConfig("")
	n.runAndWait()
	link := filepath.Join(t.TempDir(), "holiday.jpg")
	if err := os.Symlink(filepath.Join(n.home, "identity", "node.key"), link); err != nil {
		t.Fatal(err)
	}
	const someone = "dpc-node-0123456789abcdef0123456789abcdef"
	tests := map[string]string{
		"the API token":                    home.Dir(n.home).APIToken(),
		"the node key":                     filepath.Join(n.home, "identity", "node.key"),
		"a link outside to the node key":   link,
		"a path that climbs into the home": filepath.Join(n.home, "..", filepath.Base(n.home), "dpc.hcl"),
	}
	for name, path := range tests {
		t.Run(name, func(t *testing.T) {
			_, errs, code := n.dpc("send-file", "--no-wait", someone, path)
			if code == 0 || !strings.Contains(errs, "inside "+n.home) {
				t.Errorf("send-file %s: want a refusal naming the data directory, got exit %d: %s", path, code, errs)
			}
		})
	}
	if out := n.must("transfers"); strings.Contains(out, "node.key") || strings.Contains(out, "api.token") {
		t.Errorf("transfers: want none offered, got:\n%s", out)
	}
}

func TestRunExitsAtOnceWhenAnAddressIsTaken(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		flag string
		want string
	}{
		"local API address":   {flag: "--api", want: "local API on %s"},
		"peer listen address": {flag: "--listen", want: "cannot listen for peers on %s"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newPeer(t, "Alice")
			taken := holdPort(t)
			d := p.start(tc.flag, taken.addr())
			if code := d.exit(t, time.Minute); code == 0 {
				t.Fatalf("want a non-zero exit, got 0\n%s", d.stderr)
			}
			errs := d.stderr.String()
			for _, want := range []string{"dpc: " + fmt.Sprintf(tc.want, taken.addr()), "address already in use", tc.flag} {
				if !strings.Contains(errs, want) {
					t.Errorf("want %q in the message, got:\n%s", want, errs)
				}
			}
			if _, err := os.Lstat(home.Dir(p.home).APISocket()); err == nil {
				t.Errorf("api.sock left behind after a failed start")
			}
		})
	}
}

func TestIDShowsWhatTheRunningNodeListensOn(t *testing.T) {
	t.Parallel()
	p := newPeer(t, "Alice")
	out := p.must("id")
	if !strings.Contains(out, "node_id      "+p.id) || !strings.Contains(out, "addresses    none: the node is not running") ||
		strings.Contains(out, "dpc://") {
		t.Errorf("id, node stopped: want the identity and no address, got:\n%s", out)
	}
	// Port 0: only the running node knows which port it got.
	p.d = p.runAndWait("--listen", "127.0.0.1:0")
	// The API answers before the transport has bound its port: wait for it.
	uriRE := regexp.MustCompile(`dpc://127\.0\.0\.1:(\d+)\?node_id=` + p.id)
	waitFor(t, time.Minute, "the bound URI in dpc id", func() bool { out = p.must("id"); return uriRE.MatchString(out) })
	m := uriRE.FindStringSubmatch(out)
	if m == nil || m[1] == "0" || !strings.Contains(out, "node_id      "+p.id) {
		t.Fatalf("id, node running: want the bound dpc://127.0.0.1:PORT URI, got:\n%s", out)
	}
	port, _ := strconv.Atoi(m[1])
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("the URI dpc id shows does not answer: %v", err)
	}
	c.Close()
}

// runAndWaitFor waits until the API of the node run by d answers.
func (n *node) runAndWaitFor(d *daemon) {
	n.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		select {
		case err := <-d.done:
			d.done <- err // for the cleanup, which waits for the exit too
			n.t.Fatalf("dpc run exited (%v) before its API answered\nstderr:\n%s", err, d.stderr)
		default:
		}
		if _, err := n.status(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("the API did not answer within a minute\nstderr:\n%s", d.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
