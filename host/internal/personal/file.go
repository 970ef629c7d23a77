package personal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/config"
	"github.com/dpc-go/dpc/host/internal/filewatch"
)

// File owns the personal context file: the document in force, changes the
// host makes, and the user's edits. It is safe for concurrent use.
type File struct {
	path string
	log  hclog.Logger

	cur atomic.Pointer[Context]
	// changed is signalled whenever cur may have changed; Watch reports it.
	changed chan struct{}

	mu         sync.Mutex // serialises Update and applying edits; guards lastErr
	lastErr    error
	loaded     filewatch.Snapshot // the file as Load read it; Watch starts from it
	loadedHash string

	// poll, when > 0, makes Watch poll at that interval instead of using
	// file system notifications (for tests).
	poll time.Duration
	// now is the clock for metadata.last_updated (for tests).
	now func() time.Time
}

// Load reads the personal context file at path ($DPC_HOME/personal.json).
// A missing file is an error wrapping ErrNoContext, telling the user to run
// `dpc init` or write one; whether to go on without a context is the
// caller's choice. A file with errors is an [*config.Error] wrapping
// ErrInvalidContext. log may be nil.
func Load(path string, log hclog.Logger) (*File, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	snap := filewatch.Read(path)
	switch {
	case snap.Err != nil:
		return nil, fmt.Errorf("read personal context: %w", snap.Err)
	case !snap.Exists:
		return nil, missing(path)
	}
	c, err := Parse(snap.Data, path)
	if err != nil {
		return nil, err
	}
	f := &File{path: path, log: log, changed: make(chan struct{}, 1), loadedHash: c.hash, now: time.Now}
	f.cur.Store(c)
	snap.Data = nil // Watch compares versions by their sum only
	f.loaded = snap
	log.Debug("loaded personal context", "path", path, "hash", c.hash)
	return f, nil
}

// missing is the error for a personal context file that does not exist.
func missing(path string) error {
	return fmt.Errorf("%w: %s does not exist; run `dpc init` to create it, or write it yourself", ErrNoContext, path)
}

// Current returns a deep copy of the document in force, which the caller
// may change freely (changing it does not change the context; use Update),
// and its hash. For read-only use without the copy, see Context.
func (f *File) Current() (doc map[string]any, hash string) {
	c := f.cur.Load()
	return c.Doc(), c.hash
}

// View returns the document in force and its hash without copying it: the
// document is shared, and the caller must not change it (see Current).
func (f *File) View() (doc map[string]any, hash string) {
	c := f.cur.Load()
	return c.doc, c.hash
}

// Context returns the immutable version of the personal context in force.
func (f *File) Context() *Context { return f.cur.Load() }

// LastError returns why the file as it is now could not be loaded, with
// file:line:column for each problem, or nil when the document in force is
// the file's content.
func (f *File) LastError() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastErr
}

// Update changes the personal context with fn and writes the file. fn gets
// the document as the file holds it now (not the one in memory, so that an
// edit Watch has not picked up yet is kept) and changes it in place, for
// instance with [Set]; an error from fn is returned as it is and nothing is
// written. The result must be a valid context, else Update returns a
// [*config.Error] wrapping ErrInvalidContext and writes nothing. When fn
// changed something, metadata.last_updated is set to now, and the file is
// replaced atomically (mode 0600, indented) and made current at once, as
// Watch would report. A file that is missing or has errors cannot be
// updated: Update returns the error Load would.
func (f *File) Update(fn func(doc map[string]any) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	snap := filewatch.Read(f.path)
	switch {
	case snap.Err != nil:
		return fmt.Errorf("read personal context: %w", snap.Err)
	case !snap.Exists:
		return missing(f.path)
	}
	doc, diags := decode(snap.Data, f.path)
	if err := config.NewError(ErrInvalidContext, diags); err != nil {
		return err
	}
	before := Hash(doc)
	if err := fn(doc); err != nil {
		return err
	}
	// fn may have stored Go values (a []string, an int): make them what a
	// reader of the file will see before checking and hashing them.
	doc, err := normalize(doc)
	if err != nil {
		return err
	}
	if Hash(doc) == before {
		// Nothing to write; the file as read is valid and now in force.
		f.lastErr = nil
		f.setCurrent(newContext(doc))
		return nil
	}
	if m, ok := doc["metadata"].(map[string]any); ok {
		m["last_updated"] = timestamp(f.now())
	} else if _, ok := doc["metadata"]; !ok {
		doc["metadata"] = map[string]any{"last_updated": timestamp(f.now())}
	}
	if problems := validate(doc); len(problems) > 0 {
		return config.NewError(ErrInvalidContext, diagnose(problems, noPosition))
	}
	data, err := encode(doc)
	if err != nil {
		return fmt.Errorf("encode personal context: %w", err)
	}
	if err := filewatch.WriteFile(f.path, data, 0o600); err != nil {
		return fmt.Errorf("write personal context: %w", err)
	}
	f.lastErr = nil
	c := newContext(doc)
	f.setCurrent(c)
	f.log.Info("updated personal context", "path", f.path, "hash", c.hash)
	return nil
}

// Replace makes data, a whole personal context file as a user edited it,
// the context: it is checked as [Parse] checks a file (each problem with
// its line:column in data, in a [*config.Error] wrapping
// ErrInvalidContext), then written and made current as [File.Update]
// does. base is the hash of the version the edit started from: when the
// file holds another one now, nothing is written and the error wraps
// ErrChanged; an empty base skips that check.
func (f *File) Replace(data []byte, base string) error {
	c, err := Parse(data, f.path)
	if err != nil {
		return err
	}
	return f.Update(func(doc map[string]any) error {
		if now := Hash(doc); base != "" && now != base {
			return fmt.Errorf("%w: %s is at version %.12s now, the edit started from %.12s; load it again and redo the edit",
				ErrChanged, f.path, now, base)
		}
		clear(doc)
		for k, v := range c.Doc() {
			doc[k] = v
		}
		return nil
	})
}

// normalize returns doc as decoding its JSON gives it.
func normalize(doc map[string]any) (map[string]any, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: the document cannot be written as JSON: %w", ErrInvalidContext, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidContext, err)
	}
	return out, nil
}

// setCurrent makes c the context in force if it differs from the current
// one, and says so to Watch; it reports whether it did.
func (f *File) setCurrent(c *Context) bool {
	if old := f.cur.Load(); old != nil && old.hash == c.hash {
		return false
	}
	f.cur.Store(c)
	select {
	case f.changed <- struct{}{}:
	default: // a signal is pending already; Watch reads the newest context
	}
	return true
}

// Watch picks up edits of the file until ctx is done; run it in its own
// goroutine, once. An edit takes effect 200ms or so after the last write
// (see package filewatch). A valid edit becomes the context in force; an
// edit with errors leaves the previous context in force, and the problems
// are logged and returned by LastError until the file is fixed. A deleted
// file means an empty context, so that nothing the user removed is shared
// any longer; Update refuses to work until the file is back.
//
// onChange (which may be nil) is called with the new hash whenever the
// context in force changes after Load, by an edit or by Update, from
// Watch's goroutine, one call at a time. Changes in quick succession may be
// reported once, with the newest hash; a change that is undone before it
// was reported may not be reported at all.
func (f *File) Watch(ctx context.Context, onChange func(hash string)) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		filewatch.Watch(ctx, f.path, filewatch.Options{Initial: f.loaded, Poll: f.poll, Log: f.log}, f.apply)
	}()
	defer func() {
		cancel()
		<-done
	}()
	reported := f.loadedHash
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.changed:
			h := f.cur.Load().hash
			if h == reported {
				continue
			}
			reported = h
			if onChange != nil {
				onChange(h)
			}
		}
	}
}

// Reload reads the file now and makes it the context in force, as Watch
// does once it notices an edit, and returns the hash then in force and why
// the file could not be loaded (as LastError), if it could not. A command
// that changed the file has the running node call it, so that the command
// returns only once the node uses the change.
func (f *File) Reload() (hash string, err error) {
	f.apply(filewatch.Read(f.path))
	return f.cur.Load().hash, f.LastError()
}

// apply makes a new version of the file current, or records why it cannot.
func (f *File) apply(s filewatch.Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case s.Err != nil:
		f.fail(fmt.Errorf("read personal context: %w", s.Err))
	case !s.Exists:
		f.lastErr = nil
		f.setCurrent(newContext(map[string]any{}))
		f.log.Warn("personal context file removed: sharing no personal context until it is back", "path", f.path)
	default:
		c, err := Parse(s.Data, f.path)
		if err != nil {
			f.fail(err)
			return
		}
		f.lastErr = nil
		if f.setCurrent(c) {
			f.log.Info("reloaded personal context", "path", f.path, "hash", c.hash)
		}
	}
}

// fail records err and logs it, unless it is the error already recorded.
func (f *File) fail(err error) {
	if f.lastErr == nil || f.lastErr.Error() != err.Error() {
		f.log.Error("cannot load the personal context file; keeping the previous context", "path", f.path, "error", err.Error())
	}
	f.lastErr = err
}
