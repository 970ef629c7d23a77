package filewatch

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"
)

const (
	// debounce is how long Watch waits after the last change before it
	// reads the file, so that an editor's several writes make one version;
	// it is also the interval between the two reads that must agree.
	debounce = 100 * time.Millisecond
	// resyncEvery is how often Watch re-reads the file even without an
	// event, for changes a directory watch cannot see.
	resyncEvery = 30 * time.Second
	// pollEvery is how often Watch reads the file when it cannot use file
	// system notifications.
	pollEvery = time.Second
)

// Snapshot is one reading of the file.
type Snapshot struct {
	// Data is the file's content; nil when the file is missing or
	// unreadable.
	Data []byte
	// Exists is false when there is no file at the path. A missing file is
	// not an error: Err is nil then.
	Exists bool
	// Err is why the file could not be read (a permission, a directory at
	// the path); it comes from the os package and names the path.
	Err error
	// Sum is the SHA-256 of Data when Exists, else zero.
	Sum [sha256.Size]byte
}

// Read reads the file at path.
func Read(path string) Snapshot {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Snapshot{}
	case err != nil:
		return Snapshot{Err: err}
	}
	return Snapshot{Data: data, Exists: true, Sum: sha256.Sum256(data)}
}

// same reports whether s and o are the same version of the file: the same
// content, both missing, or the same read error (which keeps a lasting
// error, such as a permission problem, from being passed on again and
// again).
func (s Snapshot) same(o Snapshot) bool {
	if (s.Err == nil) != (o.Err == nil) {
		return false
	}
	if s.Err != nil {
		return s.Err.Error() == o.Err.Error()
	}
	return s.Exists == o.Exists && s.Sum == o.Sum
}

// Options tune [Watch]. The zero value watches a file that was missing
// when the caller looked, with file system notifications, logging nothing.
type Options struct {
	// Initial is the version of the file the caller already has, usually
	// the [Read] it loaded the file with. Watch calls apply only for
	// versions that differ from it, and reads the file once as it starts,
	// so that a change made between that Read and Watch is not missed.
	Initial Snapshot
	// Poll, when > 0, makes Watch read the file at this interval instead
	// of using file system notifications; tests use it for a watch that
	// behaves the same everywhere.
	Poll time.Duration
	// Log receives warnings about the watch itself: notifications not
	// available, events lost. Nil discards them.
	Log hclog.Logger
}

// Watch calls apply with each new version of the file at path once it has
// settled, until ctx is done; run it in its own goroutine. apply runs on
// Watch's goroutine, one call at a time, in the order the versions were
// seen; a read error is passed on as a Snapshot with Err set (once per
// distinct error), a removed file as one with Exists false.
func Watch(ctx context.Context, path string, opts Options, apply func(Snapshot)) {
	w := &watcher{path: path, log: opts.Log, seen: opts.Initial, apply: apply}
	w.seen.Data = nil
	if w.log == nil {
		w.log = hclog.NewNullLogger()
	}
	if opts.Poll > 0 {
		w.pollLoop(ctx, opts.Poll)
		return
	}
	w.notifyLoop(ctx)
}

// watcher is the state of one Watch call; only its goroutine uses it.
type watcher struct {
	path  string
	log   hclog.Logger
	apply func(Snapshot)

	seen    Snapshot  // the version last passed to apply (or Options.Initial), without Data
	pending *Snapshot // a changed version waiting for a second read to agree
}

func (w *watcher) notifyLoop(ctx context.Context) {
	fsw, err := fsnotify.NewWatcher()
	if err == nil {
		defer fsw.Close()
		// The directory, not the file: a file replaced by a rename or
		// removed and created again is a new inode a file watch would lose.
		err = fsw.Add(filepath.Dir(w.path))
	}
	if err != nil {
		w.log.Warn("cannot watch the file; polling it instead", "path", w.path, "error", err)
		w.pollLoop(ctx, pollEvery)
		return
	}
	name := filepath.Clean(w.path)
	resync := time.NewTicker(resyncEvery)
	defer resync.Stop()
	timer := time.NewTimer(debounce)
	timer.Stop()
	defer timer.Stop()
	// Catch anything written between the caller's Read and now.
	if w.settle() {
		timer.Reset(debounce)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-fsw.Events:
			if !ok {
				w.pollLoop(ctx, pollEvery)
				return
			}
			if filepath.Clean(ev.Name) == name {
				timer.Reset(debounce)
			}
		case err, ok := <-fsw.Errors:
			if !ok {
				w.pollLoop(ctx, pollEvery)
				return
			}
			// Events may have been lost (an overflow): look at the file.
			w.log.Warn("file watch error", "path", w.path, "error", err)
			timer.Reset(debounce)
		case <-timer.C:
			if w.settle() {
				timer.Reset(debounce)
			}
		case <-resync.C:
			if w.settle() {
				timer.Reset(debounce)
			}
		}
	}
}

// pollLoop reads the file every interval.
func (w *watcher) pollLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		w.settle()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// settle reads the file and passes it on if it changed and reads the same
// as the previous call found, so that a file caught in the middle of a
// write is not applied. It returns true when the file changed but has not
// settled yet: call it again after a while.
func (w *watcher) settle() bool {
	s := Read(w.path)
	switch {
	case s.same(w.seen):
		w.pending = nil
		return false
	case w.pending != nil && w.pending.same(s):
		w.pending = nil
		w.deliver(s)
		return false
	default:
		w.pending = &s
		return true
	}
}

// deliver passes s on and remembers it as the version applied; apply may
// keep s.Data, which the watcher does not hold on to.
func (w *watcher) deliver(s Snapshot) {
	w.seen = s
	w.seen.Data = nil
	w.apply(s)
}
