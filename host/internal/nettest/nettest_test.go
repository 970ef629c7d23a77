package nettest_test

import (
	"net"
	"os"
	"strconv"
	"testing"

	"github.com/dpc-go/dpc/host/internal/nettest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	nettest.Cleanup()
	os.Exit(code)
}

// TestNewNodeAcceptsConnectionsWhenItReturns is the race behind the flaky
// TestV1HandshakeRefusals: NewNode returned while the node still started
// its listener in the background, so a test that dialed at once was
// refused by the kernel, not by the node. A node is dialable as soon as
// NewNode returns, every time.
func TestNewNodeAcceptsConnectionsWhenItReturns(t *testing.T) {
	t.Parallel()
	for range 3 {
		n := nettest.NewNode(t, nettest.Options{Name: "Gopher"})
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port)))
		if err != nil {
			t.Fatalf("dialing the node NewNode just returned: %v", err)
		}
		_ = c.Close()
	}
}
