package watchtest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
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

func TestEventually(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		fn      func(t testing.TB)
		wantMsg string
	}{
		"true at once": {fn: func(t testing.TB) {
			Eventually(t, "truth", func() bool { return true })
		}},
		"true at the third check": {fn: func(t testing.TB) {
			checks := 0
			Eventually(t, "the third check", func() bool { checks++; return checks == 3 })
		}},
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
