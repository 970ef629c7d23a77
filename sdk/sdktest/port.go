package sdktest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// ReservePort returns a loopback TCP port that stays this test's until it
// ends, for a server the test starts, stops and starts again on the same
// address (a transport's listener, a node, a hub).
//
// A port found by listening on 127.0.0.1:0 and closing is not safe for
// that: it comes from the kernel's ephemeral range, which every outgoing
// connection on the machine draws from, so on a busy machine another
// socket takes it before the server binds it. ReservePort picks below that
// range, where the kernel never hands out ports by itself, and holds a lock
// file for the port until the test ends so that other test processes (go
// test runs packages in parallel) that use ReservePort pass it by.
func ReservePort(t testing.TB) int {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "dpc-test-ports")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("reserve a port: %v", err)
	}
	hi := ephemeralLow() - 1
	lo := max(hi-10_000, 1024)
	start := lo + rand.IntN(hi-lo+1)
	for i := range hi - lo + 1 {
		port := lo + (start-lo+i)%(hi-lo+1)
		release, err := lockPort(filepath.Join(dir, strconv.Itoa(port)+".lock"))
		if errors.Is(err, errPortLocked) {
			continue
		}
		if err != nil {
			t.Fatalf("reserve a port: %v", err)
		}
		// Free right now? (Something outside the tests may hold it.)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			release()
			continue
		}
		_ = ln.Close()
		t.Cleanup(release)
		return port
	}
	t.Fatalf("reserve a port: every port in %d-%d is taken", lo, hi)
	return 0
}

// errPortLocked means another test process holds the port.
var errPortLocked = errors.New("port held by another test process")

// ephemeralLow is the first port of the kernel's ephemeral range (Linux
// says where it starts; 32768 is its default and below the others').
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 2048 {
				return n
			}
		}
	}
	return 32768
}
