package personal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dpc-go/dpc/config"
	"github.com/dpc-go/dpc/host/internal/filewatch/watchtest"
)

// newHome returns the path of a personal.json holding content in a fresh
// directory.
func newHome(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "personal.json")
	watchtest.WriteInPlace(t, path, content)
	return path
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	watchtest.WriteInPlace(t, good, string(mustRead(t, "testdata/personal.json")))
	broken := filepath.Join(dir, "broken.json")
	watchtest.WriteInPlace(t, broken, "{\n  \"profile\": {\"name\": 7}\n}\n")

	tests := map[string]struct {
		path         string
		wantErr      string // substring; "" for success
		wantSentinel error
	}{
		"good file":    {path: good},
		"missing file": {path: filepath.Join(dir, "missing.json"), wantErr: "missing.json does not exist; run `dpc init` to create it", wantSentinel: ErrNoContext},
		"broken file":  {path: broken, wantErr: broken + ":2:23: Wrong type: profile.name must be a string", wantSentinel: ErrInvalidContext},
		"unreadable":   {path: dir, wantErr: "read personal context: read " + dir + ": is a directory"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs watchtest.LogBuffer
			f, err := Load(tc.path, watchtest.Logger(&logs))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
				}
				if tc.wantSentinel != nil && !errors.Is(err, tc.wantSentinel) {
					t.Errorf("want an error wrapping %v, got %v", tc.wantSentinel, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			doc, hash := f.Current()
			if name, _ := lookup(doc, "profile", "name"); name != "Alice Moreau" {
				t.Errorf("want profile.name Alice Moreau, got %v", name)
			}
			if hash != Hash(doc) || hash != f.Context().Hash() {
				t.Errorf("want Current's hash to be the document's, got %s", hash)
			}
			if f.LastError() != nil {
				t.Errorf("want no LastError, got %v", f.LastError())
			}
			if !strings.Contains(logs.String(), "loaded personal context") {
				t.Errorf("want the load logged, got %q", logs.String())
			}
		})
	}
}

func TestLoadNilLogger(t *testing.T) {
	t.Parallel()
	f, err := Load(newHome(t, "{}"), nil)
	if err != nil {
		t.Fatalf("want no error, got %v", err)
	}
	if err := f.Update(func(doc map[string]any) error { return Set(doc, "profile.name", "x") }); err != nil {
		t.Errorf("want Update to work without a logger, got %v", err)
	}
}

// TestCurrentIsACopy checks that a caller changing what Current returned
// changes neither the context nor what the next caller gets.
func TestCurrentIsACopy(t *testing.T) {
	t.Parallel()
	f, err := Load(newHome(t, `{"profile": {"name": "Alice", "core_values": ["a"]}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	doc, hash := f.Current()
	doc["profile"].(map[string]any)["name"] = "Mallory"
	doc["profile"].(map[string]any)["core_values"].([]any)[0] = "z"
	again, againHash := f.Current()
	if jsonOf(t, again) != `{"profile":{"core_values":["a"],"name":"Alice"}}` || againHash != hash {
		t.Errorf("want the context unchanged, got %s %s", jsonOf(t, again), againHash)
	}
}

// TestViewIsTheDocumentInForce checks that View gives what Current gives,
// without a copy.
func TestViewIsTheDocumentInForce(t *testing.T) {
	t.Parallel()
	f, err := Load(newHome(t, `{"profile": {"name": "Alice"}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	doc, hash := f.View()
	cur, curHash := f.Current()
	if jsonOf(t, doc) != jsonOf(t, cur) || hash != curHash {
		t.Errorf("View: want %s %s, got %s %s", jsonOf(t, cur), curHash, jsonOf(t, doc), hash)
	}
	again, _ := f.View()
	if reflect.ValueOf(again).UnsafePointer() != reflect.ValueOf(doc).UnsafePointer() {
		t.Errorf("View: want the shared document, got a copy")
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	const start = `{"profile": {"name": "Alice"}, "knowledge": {}, "metadata": {"created": "2025-01-01T00:00:00", "last_updated": "2025-01-01T00:00:00", "storage": "local", "format_version": "2.0"}}`
	now := time.Date(2026, 8, 20, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		start     string // the file before; "" for none
		fn        func(doc map[string]any) error
		wantErr   string // substring; "" for success
		wantSent  error
		wantFile  string // golden file for the result; "" when the file must not change
		wantMoved bool   // whether the hash changes
	}{
		"set a value": {start: start, fn: func(doc map[string]any) error { return Set(doc, "knowledge.cooking.summary", "bread") },
			wantFile: "testdata/update/set_value.golden", wantMoved: true},
		"Go values are normalised": {start: start, fn: func(doc map[string]any) error {
			doc["profile"].(map[string]any)["core_values"] = []string{"a", "b"}
			doc["version"] = 2
			return nil
		}, wantFile: "testdata/update/go_values.golden", wantMoved: true},
		"metadata created": {start: `{"profile": {"name": "Alice"}}`, fn: func(doc map[string]any) error { return Set(doc, "profile.name", "Bob") },
			wantFile: "testdata/update/metadata_created.golden", wantMoved: true},
		"no change, no write": {start: start, fn: func(doc map[string]any) error { return Set(doc, "profile.name", "Alice") }},
		"fn fails": {start: start, fn: func(map[string]any) error { return errors.New("boom") },
			wantErr: "boom"},
		"invalid result": {start: start, fn: func(doc map[string]any) error { doc["knowledge"] = "none"; return nil },
			wantErr: "Wrong type: knowledge must be an object of topics, not a string.", wantSent: ErrInvalidContext},
		"cannot be encoded": {start: start, fn: func(doc map[string]any) error { doc["f"] = func() {}; return nil },
			wantErr: "the document cannot be written as JSON", wantSent: ErrInvalidContext},
		"broken file": {start: "{\"profile\": {\"name\": \"Alice\",}}", fn: func(doc map[string]any) error { return Set(doc, "profile.name", "Bob") },
			wantErr: "personal.json:1:30: Invalid JSON", wantSent: ErrInvalidContext},
		"missing file": {fn: func(doc map[string]any) error { return Set(doc, "profile.name", "Bob") },
			wantErr: "run `dpc init`", wantSent: ErrNoContext},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := newHome(t, start)
			f, err := Load(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			f.now = func() time.Time { return now }
			// Put the file under test in place behind Load's back, as an
			// edit not picked up yet would be.
			if tc.start == "" {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			} else {
				watchtest.WriteInPlace(t, path, tc.start)
			}
			before, _ := os.ReadFile(path)
			_, oldHash := f.Current()

			err = f.Update(tc.fn)
			after, _ := os.ReadFile(path)
			_, newHash := f.Current()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
				}
				if tc.wantSent != nil && !errors.Is(err, tc.wantSent) {
					t.Errorf("want an error wrapping %v, got %v", tc.wantSent, err)
				}
				if string(after) != string(before) || newHash != oldHash {
					t.Errorf("want neither the file nor the context changed, got\n%s\nhash %s", after, newHash)
				}
				return
			}
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			if tc.wantFile == "" {
				if string(after) != string(before) {
					t.Errorf("want the file untouched, got\n%s", after)
				}
			} else {
				golden(t, tc.wantFile, string(after))
				if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
					t.Errorf("want mode 0600, got %v %v", st.Mode(), err)
				}
			}
			// What is in force is what the file holds, at once.
			c, err := Parse(after, path)
			if err != nil {
				t.Fatalf("want the file written to parse, got %v", err)
			}
			if newHash != c.Hash() || (newHash != oldHash) != tc.wantMoved {
				t.Errorf("want the file's hash %s in force (changed: %v), got %s (was %s)", c.Hash(), tc.wantMoved, newHash, oldHash)
			}
			if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".personal.json.tmp-*")); len(leftovers) != 0 {
				t.Errorf("want no temporary files left, got %q", leftovers)
			}
		})
	}
}

// TestUpdateSymlink checks that Update writes through a symlink and keeps it.
func TestUpdateSymlink(t *testing.T) {
	t.Parallel()
	target := newHome(t, `{"profile": {"name": "Alice"}}`)
	link := filepath.Join(t.TempDir(), "personal.json")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	f, err := Load(link, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Update(func(doc map[string]any) error { return Set(doc, "profile.name", "Bob") }); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("want the link kept, got %v %v", st.Mode(), err)
	}
	if !strings.Contains(string(mustRead(t, target)), `"name": "Bob"`) {
		t.Errorf("want the target updated, got\n%s", mustRead(t, target))
	}
}

// TestConcurrentUse runs readers against writers, for the race detector and
// for lost updates.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	f, err := Load(newHome(t, `{"profile": {"name": "Alice"}, "knowledge": {}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	topics := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	for _, topic := range topics {
		wg.Go(func() {
			if err := f.Update(func(doc map[string]any) error { return Set(doc, "knowledge."+topic+".summary", topic) }); err != nil {
				t.Errorf("want no error, got %v", err)
			}
		})
		wg.Go(func() {
			doc, hash := f.Current()
			doc["scratch"] = topic // callers may change their copy
			if f.Context().Profile().Name != "Alice" || hash == "" {
				t.Errorf("want a consistent context, got %s", hash)
			}
		})
	}
	wg.Wait()
	if got := f.Context().Topics(); strings.Join(got, "") != strings.Join(topics, "") {
		t.Errorf("want every update kept, got topics %q", got)
	}
}

// watchFile loads path and watches it by polling until the test ends; it
// returns the file and a function returning the hashes onChange was given.
func watchFile(t *testing.T, path string) (*File, *watchtest.LogBuffer, func() []string) {
	t.Helper()
	var logs watchtest.LogBuffer
	f, err := Load(path, watchtest.Logger(&logs))
	if err != nil {
		t.Fatal(err)
	}
	f.poll = 20 * time.Millisecond
	var mu sync.Mutex
	var hashes []string
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Watch(ctx, func(h string) {
			mu.Lock()
			defer mu.Unlock()
			hashes = append(hashes, h)
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return f, &logs, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), hashes...)
	}
}

func TestWatch(t *testing.T) {
	t.Parallel()
	path := newHome(t, `{"profile": {"name": "Alice"}}`)
	f, logs, changes := watchFile(t, path)
	name := func() string { return f.Context().Profile().Name }
	lastChange := func() string {
		c := changes()
		if len(c) == 0 {
			return ""
		}
		return c[len(c)-1]
	}

	// A valid edit becomes current and is reported with its hash.
	watchtest.WriteInPlace(t, path, `{"profile": {"name": "Bob"}}`)
	watchtest.Eventually(t, "Bob in force", func() bool { return name() == "Bob" })
	watchtest.Eventually(t, "the change reported", func() bool { return lastChange() == f.Context().Hash() })

	// The same document laid out differently is no change: the broken
	// edit below, once seen, proves the watch has passed it (versions are
	// handled in order), and no change is reported up to then. Both by
	// rename: an in-place write passes through an empty file, which a
	// slowed writer may leave long enough to be a version.
	n := len(changes())
	watchtest.WriteAtomic(t, path, "{\n  \"profile\": {\n    \"name\": \"Bob\"\n  }\n}\n")

	// An edit with errors keeps the last good context and says why.
	watchtest.WriteAtomic(t, path, "{\n  \"profile\": {\"name\": [\"Carol\"]}\n}\n")
	watchtest.Eventually(t, "LastError set", func() bool { return f.LastError() != nil })
	err := f.LastError()
	var cerr *config.Error
	if !errors.Is(err, ErrInvalidContext) || !errors.As(err, &cerr) || !strings.Contains(err.Error(), path+":2:23: Wrong type: profile.name must be a string") {
		t.Errorf("want LastError to wrap ErrInvalidContext and name %s:2:23, got %v", path, err)
	}
	if name() != "Bob" || len(changes()) != n {
		t.Errorf("want Bob kept and no change reported, got %q and %d changes", name(), len(changes()))
	}
	watchtest.Eventually(t, "the error logged", func() bool {
		return strings.Contains(logs.String(), "keeping the previous context") && strings.Contains(logs.String(), path+":2:23")
	})
	// Update refuses to replace a broken edit.
	if err := f.Update(func(doc map[string]any) error { return Set(doc, "profile.name", "Dave") }); !errors.Is(err, ErrInvalidContext) {
		t.Errorf("want Update refused while the file is broken, got %v", err)
	}

	// Fixing it clears the error; editors that rename work too.
	watchtest.WriteAtomic(t, path, `{"profile": {"name": "Carol"}}`)
	watchtest.Eventually(t, "LastError cleared", func() bool { return f.LastError() == nil })
	watchtest.Eventually(t, "Carol in force and reported", func() bool { return name() == "Carol" && lastChange() == f.Context().Hash() })

	// Update is in force at once and reported once, not again when the
	// watch sees the file it wrote.
	n = len(changes())
	if err := f.Update(func(doc map[string]any) error { return Set(doc, "profile.name", "Erin") }); err != nil {
		t.Fatal(err)
	}
	if name() != "Erin" {
		t.Errorf("want Erin in force as Update returns, got %q", name())
	}
	erin := f.Context().Hash()
	watchtest.Eventually(t, "the update reported", func() bool { return lastChange() == erin })

	// A removed file shares nothing.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	watchtest.Eventually(t, "an empty context once the file is gone", func() bool { doc, _ := f.Current(); return len(doc) == 0 })
	watchtest.Eventually(t, "the removal reported", func() bool { return lastChange() == Hash(map[string]any{}) })
	// The watch handles versions in order: by the removal's report it is
	// past the file Update wrote, and the update was reported once.
	if got := changes()[n:]; len(got) != 2 || got[0] != erin {
		t.Errorf("want the update reported once, then the removal, got %q", got)
	}
	if f.LastError() != nil {
		t.Errorf("want no error for a removed file, got %v", f.LastError())
	}
	if !strings.Contains(logs.String(), "sharing no personal context") {
		t.Errorf("want the removal logged, got %q", logs.String())
	}
	watchtest.WriteInPlace(t, path, `{"profile": {"name": "Frank"}}`)
	watchtest.Eventually(t, "Frank in force once the file is back", func() bool { return name() == "Frank" })
}

// TestWatchSeesChangesBeforeIt checks that an edit or an Update made between
// Load and Watch is reported.
func TestWatchSeesChangesBeforeIt(t *testing.T) {
	t.Parallel()
	tests := map[string]func(t *testing.T, f *File, path string){
		"edit": func(t *testing.T, _ *File, path string) {
			watchtest.WriteInPlace(t, path, `{"profile": {"name": "Bob"}}`)
		},
		"update": func(t *testing.T, f *File, _ string) {
			if err := f.Update(func(doc map[string]any) error { return Set(doc, "profile.name", "Bob") }); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := newHome(t, `{"profile": {"name": "Alice"}}`)
			f, err := Load(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			f.poll = 20 * time.Millisecond
			change(t, f, path)
			got := make(chan string, 10)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				f.Watch(ctx, func(h string) { got <- h })
			}()
			defer func() {
				cancel()
				<-done
			}()
			select {
			case h := <-got:
				if h != f.Context().Hash() || f.Context().Profile().Name != "Bob" {
					t.Errorf("want Bob's hash reported, got %s for %q", h, f.Context().Profile().Name)
				}
			case <-time.After(time.Minute):
				t.Fatal("want the change reported within a minute, got nothing")
			}
		})
	}
}
