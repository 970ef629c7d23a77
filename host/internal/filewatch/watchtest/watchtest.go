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

// Eventually waits up to 10s for cond, checking it every 10ms, and fails
// the test if it does not become true; what names it in the message.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("want %s within 10s, got it not happening", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Holds checks that cond stays true for d, checking it every 10ms, and
// fails the test as soon as it does not; what names it in the message.
// Give d long enough for a watch to settle on a change several times over.
func Holds(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !cond() {
			t.Fatalf("want %s for %v, got it broken", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
