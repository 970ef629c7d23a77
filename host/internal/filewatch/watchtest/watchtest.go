package watchtest

import (
	"bytes"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// LogBuffer collects log output; safe for concurrent use. The zero value
// is ready to use.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Logger returns a logger that writes everything from the debug level up
// to buf.
func Logger(buf *LogBuffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: buf, Level: hclog.Debug})
}

// WriteAtomic replaces path the way careful editors do: write a temporary
// file, path+".tmp", then rename it over path.
func WriteAtomic(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// WriteInPlace writes content to path, creating or truncating it, the way
// simple editors do.
func WriteInPlace(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// eventuallyLimit bounds Eventually: a safety net far above what a loaded
// machine needs, not a pace.
const eventuallyLimit = 60 * time.Second

// Eventually waits up to a minute for cond, checking it every 10ms, and
// fails the test if it does not become true; what names it in the message.
// To check that something did not happen, make a later change and wait for
// it instead: a watch applies versions in order.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(eventuallyLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("want %s within %s, got it not happening", what, eventuallyLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
