package llmhttptest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/dpc-go/dpc/sdk/sdktest"
)

// ClosedURL returns an http URL on this machine at which nothing listens:
// a server that is down.
func ClosedURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	_ = ln.Close()
	return url
}

// SilentServer returns the http URL of a server that accepts connections
// and never answers, not even with headers; it is closed when the test
// ends.
func SilentServer(t testing.TB) string {
	t.Helper()
	return "http://" + sdktest.SilentListener(t)
}

// TempFile writes content to a new file name in a temporary directory of
// the test, readable by its owner only (as a key file should be), and
// returns its absolute path.
func TempFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
