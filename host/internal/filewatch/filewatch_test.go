package filewatch

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/filewatch/watchtest"
)

// recorder collects what Watch applies; safe for concurrent use.
type recorder struct {
	mu  sync.Mutex
	got []Snapshot
}

func (r *recorder) apply(s Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, s)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// all returns the snapshots applied so far, oldest first.
func (r *recorder) all() []Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// contents returns the content of each snapshot applied ("" for a missing
// or unreadable file), oldest first.
func (r *recorder) contents() []string {
	var out []string
	for _, s := range r.all() {
		out = append(out, string(s.Data))
	}
	return out
}

// last returns the latest snapshot applied, or a zero one.
func (r *recorder) last() Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) == 0 {
		return Snapshot{}
	}
	return r.got[len(r.got)-1]
}

// watch runs Watch until the test ends.
func watch(t *testing.T, path string, opts Options) *recorder {
	t.Helper()
	r := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Watch(ctx, path, opts, r.apply)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return r
}

// content reports whether s is the file holding want.
func content(s Snapshot, want string) bool {
	return s.Exists && s.Err == nil && string(s.Data) == want && s.Sum == sha256.Sum256([]byte(want))
}

func TestRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	watchtest.WriteInPlace(t, full, "hello\n")
	empty := filepath.Join(dir, "empty")
	watchtest.WriteInPlace(t, empty, "")

	tests := map[string]struct {
		path       string
		wantExists bool
		wantData   string
		wantErr    string // substring; "" for none
	}{
		"file":           {path: full, wantExists: true, wantData: "hello\n"},
		"empty file":     {path: empty, wantExists: true},
		"missing file":   {path: filepath.Join(dir, "missing")},
		"missing parent": {path: filepath.Join(dir, "no", "such")},
		"directory":      {path: dir, wantErr: "is a directory"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := Read(tc.path)
			if tc.wantErr != "" {
				if s.Err == nil || !strings.Contains(s.Err.Error(), tc.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tc.wantErr, s.Err)
				}
				if s.Exists || s.Data != nil || s.Sum != ([32]byte{}) {
					t.Errorf("want no content with an error, got %+v", s)
				}
				return
			}
			if s.Err != nil {
				t.Fatalf("want no error, got %v", s.Err)
			}
			if s.Exists != tc.wantExists || string(s.Data) != tc.wantData {
				t.Errorf("want exists %v data %q, got exists %v data %q", tc.wantExists, tc.wantData, s.Exists, s.Data)
			}
			wantSum := [32]byte{}
			if tc.wantExists {
				wantSum = sha256.Sum256([]byte(tc.wantData))
			}
			if s.Sum != wantSum {
				t.Errorf("want sum %x, got %x", wantSum, s.Sum)
			}
		})
	}
}

func TestSnapshotSame(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	watchtest.WriteInPlace(t, a, "x")
	b := filepath.Join(dir, "b")
	watchtest.WriteInPlace(t, b, "x")
	c := filepath.Join(dir, "c")
	watchtest.WriteInPlace(t, c, "y")
	empty := filepath.Join(dir, "empty")
	watchtest.WriteInPlace(t, empty, "")
	missing := filepath.Join(dir, "missing")

	tests := map[string]struct {
		a, b Snapshot
		want bool
	}{
		"same content in two files": {Read(a), Read(b), true},
		"different content":         {Read(a), Read(c), false},
		"both missing":              {Read(missing), Read(missing), true},
		"empty is not missing":      {Read(empty), Read(missing), false},
		"same read error":           {Read(dir), Read(dir), true},
		"error is not missing":      {Read(dir), Read(missing), false},
		"data is not compared":      {Read(a), Snapshot{Exists: true, Sum: sha256.Sum256([]byte("x"))}, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := tc.a.same(tc.b); got != tc.want {
				t.Errorf("want same %v, got %v", tc.want, got)
			}
			if got := tc.b.same(tc.a); got != tc.want {
				t.Errorf("want same %v reversed, got %v", tc.want, got)
			}
		})
	}
}

func TestWatch(t *testing.T) {
	t.Parallel()
	modes := map[string]time.Duration{"notify": 0, "poll": 20 * time.Millisecond}
	for name, poll := range modes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "watched.txt")
			watchtest.WriteInPlace(t, path, "one")
			r := watch(t, path, Options{Initial: Read(path), Poll: poll})

			// A change is picked up.
			watchtest.WriteInPlace(t, path, "two")
			watchtest.Eventually(t, `"two" applied`, func() bool { return content(r.last(), "two") })

			// Rewriting the same content is no new version: once a later
			// change is applied, it is the only one since "two". Both by
			// rename: an in-place write passes through an empty file, which
			// a slowed writer may leave long enough to be a version.
			n := r.count()
			watchtest.WriteAtomic(t, path, "two")
			watchtest.WriteAtomic(t, path, "two and a half")
			watchtest.Eventually(t, `"two and a half" applied`, func() bool { return content(r.last(), "two and a half") })
			if got := r.count(); got != n+1 {
				t.Errorf("an unchanged file: want only the later change applied, got %d versions", got-n)
			}

			// Editors that rename work too.
			watchtest.WriteAtomic(t, path, "three")
			watchtest.Eventually(t, `"three" applied`, func() bool { return content(r.last(), "three") })

			// Several quick writes end with the last one.
			for _, s := range []string{"a", "b", "c", "d"} {
				watchtest.WriteInPlace(t, path, s)
			}
			watchtest.Eventually(t, `"d" applied`, func() bool { return content(r.last(), "d") })

			// A removed file is passed on as missing, not as an error.
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			watchtest.Eventually(t, "the removal applied", func() bool { s := r.last(); return !s.Exists && s.Err == nil })
			watchtest.WriteInPlace(t, path, "back")
			watchtest.Eventually(t, `"back" applied`, func() bool { return content(r.last(), "back") })
		})
	}
}

// TestWatchInitial checks that Watch compares the file with Options.Initial
// as it starts: nothing for the version the caller has, the file for any
// other (a change made between the caller's Read and Watch).
func TestWatchInitial(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		initial   func(path string) Snapshot
		wantApply bool
	}{
		"the file as read":      {initial: Read, wantApply: false},
		"changed since":         {initial: func(string) Snapshot { return Snapshot{Exists: true, Sum: sha256.Sum256([]byte("old"))} }, wantApply: true},
		"missing when read":     {initial: func(string) Snapshot { return Snapshot{} }, wantApply: true},
		"unreadable when read":  {initial: func(path string) Snapshot { return Read(filepath.Dir(path)) }, wantApply: true},
		"the file, data missed": {initial: func(path string) Snapshot { s := Read(path); s.Data = nil; return s }, wantApply: false},
	}
	for name, tc := range tests {
		for mode, poll := range map[string]time.Duration{"notify": 0, "poll": 20 * time.Millisecond} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(t.TempDir(), "watched.txt")
				watchtest.WriteInPlace(t, path, "current")
				r := watch(t, path, Options{Initial: tc.initial(path), Poll: poll})
				want := []string{"next"}
				if tc.wantApply {
					watchtest.Eventually(t, "the file applied", func() bool { return content(r.last(), "current") })
					want = []string{"current", "next"}
				}
				// Once a later change is applied, everything before it was
				// (by rename: no empty file in between).
				watchtest.WriteAtomic(t, path, "next")
				watchtest.Eventually(t, `"next" applied`, func() bool { return content(r.last(), "next") })
				if got := r.contents(); !slices.Equal(got, want) {
					t.Errorf("want %q applied, got %q", want, got)
				}
			})
		}
	}
}

// TestWatchReadError checks that a file that cannot be read is passed on
// once with its error, and that fixing it is picked up.
func TestWatchReadError(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "watched.txt")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	r := watch(t, path, Options{Poll: 20 * time.Millisecond})
	watchtest.Eventually(t, "the error applied", func() bool { return r.last().Err != nil })
	if s := r.last(); s.Exists || !strings.Contains(s.Err.Error(), "is a directory") {
		t.Errorf("want an 'is a directory' error and no file, got %+v", s)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	watchtest.WriteAtomic(t, path, "fixed") // no empty file in between
	watchtest.Eventually(t, "the fixed file applied", func() bool { return content(r.last(), "fixed") })
	// Polled every 20ms meanwhile, the same error was passed on once.
	if got := r.all(); len(got) != 2 || got[0].Err == nil {
		t.Errorf("want the error once, then the fixed file, got %+v", got)
	}
}

// TestWatchFallsBackToPolling checks a directory that cannot be watched
// (it does not exist yet): Watch says so and polls instead.
func TestWatchFallsBackToPolling(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "later")
	path := filepath.Join(dir, "watched.txt")
	var logs watchtest.LogBuffer
	log := watchtest.Logger(&logs)
	r := watch(t, path, Options{Log: log})
	watchtest.Eventually(t, "the fallback logged", func() bool {
		return strings.Contains(logs.String(), "cannot watch the file; polling it instead") && strings.Contains(logs.String(), path)
	})
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	watchtest.WriteInPlace(t, path, "polled")
	watchtest.Eventually(t, "the file applied by polling", func() bool { return content(r.last(), "polled") })
}

// TestSettle checks that a version is applied only once two reads agree,
// so that a file caught in the middle of a write is skipped.
func TestSettle(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "watched.txt")
	r := &recorder{}
	w := &watcher{path: path, log: hclog.NewNullLogger(), apply: r.apply}

	steps := []struct {
		write       string // "" writes nothing
		wantPending bool
		wantCount   int
		wantLast    string
	}{
		{wantPending: false, wantCount: 0},               // missing, as Initial says
		{write: "half", wantPending: true, wantCount: 0}, // first read of a change
		{write: "half and whole", wantPending: true, wantCount: 0},
		{wantPending: false, wantCount: 1, wantLast: "half and whole"}, // second read agrees
		{wantPending: false, wantCount: 1, wantLast: "half and whole"}, // nothing new
	}
	for i, st := range steps {
		if st.write != "" {
			watchtest.WriteInPlace(t, path, st.write)
		}
		if got := w.settle(); got != st.wantPending {
			t.Fatalf("step %d: want settle to say pending %v, got %v", i, st.wantPending, got)
		}
		if got := r.count(); got != st.wantCount {
			t.Fatalf("step %d: want %d applied, got %d", i, st.wantCount, got)
		}
		if st.wantLast != "" && !content(r.last(), st.wantLast) {
			t.Fatalf("step %d: want %q applied, got %+v", i, st.wantLast, r.last())
		}
	}
	if w.seen.Data != nil {
		t.Errorf("want the watcher to keep no copy of the data, got %q", w.seen.Data)
	}
}

// TestWatchStops checks that Watch returns once its context is done.
func TestWatchStops(t *testing.T) {
	t.Parallel()
	for mode, poll := range map[string]time.Duration{"notify": 0, "poll": 20 * time.Millisecond} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "watched.txt")
			watchtest.WriteInPlace(t, path, "running")
			ctx, cancel := context.WithCancel(context.Background())
			applied := make(chan struct{}, 1)
			done := make(chan struct{})
			go func() {
				defer close(done)
				Watch(ctx, path, Options{Poll: poll}, func(Snapshot) {
					select {
					case applied <- struct{}{}:
					default:
					}
				})
			}()
			// The file differs from Initial (missing): once it is applied,
			// Watch is in its loop.
			select {
			case <-applied:
			case <-time.After(time.Minute):
				t.Fatal("want the file applied, got nothing within a minute")
			}
			cancel()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("want Watch to return after cancel, got it still running after a minute")
			}
		})
	}
}
