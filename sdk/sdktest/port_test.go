package sdktest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestReservePortIsOutsideTheEphemeralRangeAndHeld(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		p := ReservePort(t)
		if p >= ephemeralLow() || p < 1024 {
			t.Fatalf("port %d: want below the ephemeral range (from %d)", p, ephemeralLow())
		}
		if seen[p] {
			t.Fatalf("port %d reserved twice while held", p)
		}
		seen[p] = true
		// Held: the lock cannot be taken again.
		if _, err := lockPort(filepath.Join(os.TempDir(), "dpc-test-ports", strconv.Itoa(p)+".lock")); err != errPortLocked {
			t.Fatalf("port %d: want its lock held, got %v", p, err)
		}
		// And free to listen on.
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d: %v", p, err)
		}
		_ = ln.Close()
	}
}
