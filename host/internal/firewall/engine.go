package firewall

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"
)

const (
	// debounce is how long Watch waits after the last change before it
	// reloads, so that an editor's several writes make one reload.
	debounce = 100 * time.Millisecond
	// resyncEvery is how often Watch re-reads the file even without an
	// event, for changes a directory watch cannot see (a symlinked file
	// edited in place, events lost to an overflow).
	resyncEvery = 30 * time.Second
	// pollEvery is how often Watch reads the file when it cannot use
	// file system notifications.
	pollEvery = time.Second
)

// Engine holds the live rules of a firewall file and reloads them when the
// file changes. It is safe for concurrent use.
type Engine struct {
	path string
	log  hclog.Logger

	rules atomic.Pointer[Rules]

	mu      sync.Mutex // serialises reloads; guards lastErr and seen
	lastErr error
	seen    fileState // the file as last read, whatever came of it

	// poll, when > 0, makes Watch poll at that interval instead of using
	// file system notifications (for tests).
	poll time.Duration
}

// fileState identifies a version of the file.
type fileState struct {
	exists     bool
	sum        [sha256.Size]byte
	unreadable bool
}

// Load reads the firewall file at path ($DPC_HOME/firewall.hcl). A missing
// file means no rules, so every node is denied everything, and Load logs a
// warning saying so. A file that cannot be read or parsed is an error (an
// [*config.Error] wrapping ErrInvalidRules for the latter). log may be nil.
func Load(path string, log hclog.Logger) (*Engine, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	e := &Engine{path: path, log: log}
	src, st, err := read(path)
	if err != nil {
		return nil, err
	}
	r := &Rules{}
	if st.exists {
		if r, err = Parse(src, path); err != nil {
			return nil, err
		}
		log.Debug("loaded firewall rules", "path", path)
	} else {
		log.Warn("no firewall file: every peer is denied everything", "path", path)
	}
	e.rules.Store(r)
	e.seen = st
	return e, nil
}

// read returns the file's content and state; a missing file is not an error.
func read(path string) ([]byte, fileState, error) {
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fileState{}, nil
	}
	if err != nil {
		return nil, fileState{unreadable: true}, fmt.Errorf("read firewall rules: %w", err)
	}
	return src, fileState{exists: true, sum: sha256.Sum256(src)}, nil
}

// Rules returns the rules in force. Take them once per request and use that
// value throughout, so that a reload in between cannot mix two versions.
func (e *Engine) Rules() *Rules { return e.rules.Load() }

// Check is e.Rules().Check.
func (e *Engine) Check(node, resource string, contacts ContactSet) Decision {
	return e.Rules().Check(node, resource, contacts)
}

// LastError returns why the file as it is now could not be loaded, with
// file:line:column for each problem, or nil when the rules in force are the
// file's current content.
func (e *Engine) LastError() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastErr
}

// Watch reloads the rules whenever the file changes, until ctx is done; run
// it in its own goroutine, once. Changes are picked up 200ms or so after
// the last write: once 100ms passed without a write, and two reads of the
// file 100ms apart agree, so that a file read while being written is not
// applied. A file with errors leaves the previous rules in force: the
// problems are logged and returned by LastError until the file is fixed. A
// deleted file means no rules, as at startup. Watch uses file system
// notifications on the file's directory (and re-reads the file every 30s
// for what they cannot see, such as a symlinked file edited in place); it
// falls back to polling every second, so changes take up to two seconds,
// when notifications are not available.
func (e *Engine) Watch(ctx context.Context) {
	if e.poll > 0 {
		e.pollLoop(ctx, e.poll)
		return
	}
	w, err := fsnotify.NewWatcher()
	if err == nil {
		defer w.Close()
		err = w.Add(filepath.Dir(e.path))
	}
	if err != nil {
		e.log.Warn("cannot watch the firewall file; polling it instead", "path", e.path, "error", err)
		e.pollLoop(ctx, pollEvery)
		return
	}
	// Catch anything written between Load and the start of the watch.
	e.reload()

	name := filepath.Clean(e.path)
	resync := time.NewTicker(resyncEvery)
	defer resync.Stop()
	timer := time.NewTimer(debounce)
	timer.Stop()
	defer timer.Stop()
	var pending *fileState
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				e.pollLoop(ctx, pollEvery)
				return
			}
			if filepath.Clean(ev.Name) == name {
				timer.Reset(debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				e.pollLoop(ctx, pollEvery)
				return
			}
			// Events may have been lost (an overflow): look at the file.
			e.log.Warn("firewall file watch error", "path", e.path, "error", err)
			timer.Reset(debounce)
		case <-timer.C:
			if e.settle(&pending) {
				timer.Reset(debounce)
			}
		case <-resync.C:
			if e.settle(&pending) {
				timer.Reset(debounce)
			}
		}
	}
}

// pollLoop reads the file every interval.
func (e *Engine) pollLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var pending *fileState
	for {
		e.settle(&pending)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// settle reads the file and applies it if it changed and reads the same as
// last time settle was called (*pending), so that a file caught in the
// middle of a write is not applied. It returns true when the file changed
// but is not settled yet: call it again after a while.
func (e *Engine) settle(pending **fileState) bool {
	src, st, err := read(e.path)
	switch {
	case !e.changed(st, err):
		*pending = nil
		return false
	case *pending != nil && **pending == st:
		*pending = nil
		e.apply(src, st, err)
		return false
	default:
		*pending = &st
		return true
	}
}

// changed reports whether a read of the file differs from the last one
// applied.
func (e *Engine) changed(st fileState, err error) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return err != nil || st != e.seen
}

// reload reads the file and applies it if it changed.
func (e *Engine) reload() {
	src, st, err := read(e.path)
	e.apply(src, st, err)
}

// apply makes what was read from the file current, unless it is what was
// read last time: new rules, no rules if the file is gone, or the previous
// rules and an error if it cannot be read or parsed.
func (e *Engine) apply(src []byte, st fileState, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err == nil && st == e.seen {
		return
	}
	e.seen = st
	switch {
	case err != nil:
		e.fail(err)
	case !st.exists:
		e.rules.Store(&Rules{})
		e.lastErr = nil
		e.log.Warn("firewall file removed: every peer is denied everything", "path", e.path)
	default:
		r, err := Parse(src, e.path)
		if err != nil {
			e.fail(err)
			return
		}
		e.rules.Store(r)
		e.lastErr = nil
		e.log.Info("reloaded firewall rules", "path", e.path)
	}
}

// fail records err and logs it, unless it is the error already recorded.
func (e *Engine) fail(err error) {
	if e.lastErr == nil || e.lastErr.Error() != err.Error() {
		e.log.Error("cannot load the firewall file; keeping the previous rules", "path", e.path, "error", err.Error())
	}
	e.lastErr = err
}
