package watchtest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTB records a Fatalf and stops the goroutine, as testing.T does.
type fakeTB struct {
	testing.TB
	msg string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls fn with a fakeTB in its own goroutine and returns the message
// it failed with, "" if it did not.
func run(fn func(t testing.TB)) string {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

func TestLogBuffer(t *testing.T) {
	t.Parallel()
	var buf LogBuffer
	log := Logger(&buf)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { log.Debug("line", "n", i) })
	}
	wg.Wait()
	if got := strings.Count(buf.String(), "[DEBUG] line"); got != 8 {
		t.Errorf("want 8 debug lines, got %d in %q", got, buf.String())
	}
}

func TestWrite(t *testing.T) {
	t.Parallel()
	tests := map[string]func(testing.TB, string, string){
		"atomic":   WriteAtomic,
		"in place": WriteInPlace,
	}
	for name, write := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			for _, content := range []string{"first", "second"} {
				write(t, path, content)
				if got, err := os.ReadFile(path); err != nil || string(got) != content {
					t.Fatalf("want %q, got %q, %v", content, got, err)
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("want only the file left, got %v", entries)
			}
			bad := filepath.Join(dir, "missing", "f")
			if msg := run(func(t testing.TB) { write(t, bad, "x") }); msg == "" {
				t.Errorf("want writing into a missing directory to fail the test")
			}
		})
	}
}

func TestEventuallyAndHolds(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		fn      func(t testing.TB)
		wantMsg string
	}{
		"eventually true": {fn: func(t testing.TB) {
			start := time.Now()
			Eventually(t, "time to pass", func() bool { return time.Since(start) > 30*time.Millisecond })
		}},
		"holds true": {fn: func(t testing.TB) {
			Holds(t, "truth", 50*time.Millisecond, func() bool { return true })
		}},
		"holds broken": {fn: func(t testing.TB) {
			Holds(t, "falsehood", 50*time.Millisecond, func() bool { return false })
		}, wantMsg: "want falsehood for 50ms, got it broken"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := run(tc.fn); got != tc.wantMsg {
				t.Errorf("want failure %q, got %q", tc.wantMsg, got)
			}
		})
	}
}
