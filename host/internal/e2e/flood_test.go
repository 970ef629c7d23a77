package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Bounds of TestConnectionFloodBoundsMemory.
const (
	// floodConns idle connections are held open against the node.
	floodConns = 2000
	// floodRedials bounds how many times the flood reopens a connection
	// the node closed, so the test's work is bounded.
	floodRedials = 4000
	// hostMemoryBound and pluginMemoryBound are the most the peak resident
	// memory of the host (dpc run) and of its transport-direct subprocess
	// may exceed their resident memory before the flood. The host's live
	// heap is ~25 MB at rest, so the garbage collector alone lets it grow
	// about as much under any load; the flood itself keeps a few MB live.
	// Before the bounds, this flood grew the host by ~80 MiB and the plugin
	// by ~57 MiB (3,000 idle connections without redials: ~300 and ~200).
	hostMemoryBound   = 60 << 20
	pluginMemoryBound = 30 << 20
	// floodOpenBound is the most flood connections the node may still
	// hold once it has dealt with them: transport-direct keeps at most 64
	// silent connections per IP (direct.MaxSilentPerIP), the host 32
	// pending handshakes per IP (session.DefaultMaxPendingPerSource).
	floodOpenBound = 64
)

// TestConnectionFloodBoundsMemory opens 2,000 idle TCP connections to a
// node's port from loopback (and reopens those the node closes, as an
// attacker would), and checks that a real peer from the same address still
// connects and that neither the host nor its transport plugin grows by more
// than its bound.
func TestConnectionFloodBoundsMemory(t *testing.T) {
	raiseFileLimit(t, floodConns+1000)
	target, friend := newPeer(t, "target"), newPeer(t, "friend")
	target.run()
	friend.run()
	hostPID := target.d.cmd.Process.Pid
	pluginPID := childPID(t, hostPID, "dpc-plugin-tran")
	hostBefore, pluginBefore := procStatus(t, hostPID, "VmRSS"), procStatus(t, pluginPID, "VmRSS")

	f := startFlood(t, fmt.Sprintf("127.0.0.1:%d", target.port), floodConns, floodRedials)
	waitFor(t, 30*time.Second, "all flood connections opened", func() bool { return f.opened.Load() >= floodConns })
	// The node closes what it will not keep; an attacker's idle
	// connections beyond the bound are gone once it has seen them all.
	waitFor(t, 30*time.Second, "the node to shed the idle flood", func() bool {
		return f.closed.Load() >= floodConns-floodOpenBound
	})
	if fds := openFiles(t, pluginPID); fds > floodOpenBound+100 {
		t.Errorf("transport plugin holds %d open files during the flood, want at most %d", fds, floodOpenBound+100)
	}

	// A real peer from the same address gets through the flood.
	friend.must("connect", target.uri())
	friend.waitPeerState(target, 30*time.Second, "connected")
	f.stop()
	t.Logf("flood: %d connections opened, %d closed by the node", f.opened.Load(), f.closed.Load())

	for _, p := range []struct {
		what          string
		pid           int
		before, bound int64
	}{{"host (dpc run)", hostPID, hostBefore, hostMemoryBound}, {"transport-direct plugin", pluginPID, pluginBefore, pluginMemoryBound}} {
		peak := procStatus(t, p.pid, "VmHWM")
		t.Logf("%s: resident %d MiB before the flood, peak %d MiB", p.what, p.before>>20, peak>>20)
		if grew := peak - p.before; grew > p.bound {
			t.Errorf("%s grew by %d MiB during the flood, want at most %d MiB", p.what, grew>>20, p.bound>>20)
		}
	}
}

// flood holds idle connections open against addr.
type flood struct {
	addr           string
	opened, closed atomic.Int64
	redials        atomic.Int64
	done           chan struct{}
	wg             sync.WaitGroup
	mu             sync.Mutex
	conns          map[net.Conn]bool
	stopOnce       sync.Once
}

// startFlood opens n idle connections to addr, each reopened when the other
// side closes it while redials last; the test's end stops it.
func startFlood(t *testing.T, addr string, n, redials int) *flood {
	t.Helper()
	f := &flood{addr: addr, done: make(chan struct{}), conns: map[net.Conn]bool{}}
	f.redials.Store(int64(redials))
	for range n {
		f.wg.Add(1)
		go f.slot(t)
	}
	t.Cleanup(f.stop)
	return f
}

func (f *flood) slot(t *testing.T) {
	defer f.wg.Done()
	first := true
	for {
		if !first && f.redials.Add(-1) < 0 {
			return
		}
		first = false
		c, err := net.DialTimeout("tcp", f.addr, 20*time.Second)
		if err != nil {
			select {
			case <-f.done:
			default:
				t.Errorf("flood dial: %v", err)
			}
			return
		}
		f.mu.Lock()
		select {
		case <-f.done:
			f.mu.Unlock()
			_ = c.Close()
			return
		default:
		}
		f.conns[c] = true
		f.mu.Unlock()
		f.opened.Add(1)
		// Idle: send nothing, wait for the node to give up on us.
		_, _ = c.Read(make([]byte, 1))
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
		_ = c.Close()
		select {
		case <-f.done:
			return
		default:
		}
		f.closed.Add(1)
	}
}

// stop closes every flood connection and waits for the flood to end.
func (f *flood) stop() {
	f.stopOnce.Do(func() {
		f.mu.Lock()
		close(f.done)
		for c := range f.conns {
			_ = c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
}

// waitFor polls cond until it holds, or fails the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitPeerState polls `dpc peers` until other is listed in state.
func (p *peer) waitPeerState(other *peer, timeout time.Duration, state string) {
	p.t.Helper()
	var out string
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		out, _, _ = p.dpc("peers")
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, other.id) && strings.Contains(l, state) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("timed out after %s waiting for %s to be %s; peers:\n%s\nlog:\n%s", timeout, other.id, state, out, p.d.stderr)
}

// raiseFileLimit raises this process's soft limit on open files to at
// least n, or fails the test if the hard limit does not allow it.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Fatalf("this test needs %d open files; the hard limit is %d (raise it with ulimit -Hn)", n, lim.Max)
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raising the open-file limit to %d: %v", n, err)
	}
}

// childPID finds the child of parent whose command name starts with comm
// (the kernel keeps 15 characters of it).
func childPID(t *testing.T, parent int, comm string) int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid …; comm may hold spaces, so split at ')'.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) < 2 || fields[1] != strconv.Itoa(parent) || !strings.HasPrefix(s[open+1:end], comm) {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
		if err == nil {
			return pid
		}
	}
	t.Fatalf("no child process %q of %d", comm, parent)
	return 0
}

// procStatus returns a memory field of /proc/PID/status ("VmRSS",
// "VmHWM") in bytes.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("/proc/%d/status %s: %v", pid, field, err)
		}
		return kb << 10
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

// openFiles counts the open file descriptors of pid.
func openFiles(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}
