package firewall

import (
	"github.com/dpc-go/dpc/host/internal/filewatch"

	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Engine holds the live rules of a firewall file and reloads them when the
// file changes. It is safe for concurrent use.
type Engine struct {
	path string
	log  hclog.Logger

	rules atomic.Pointer[Rules]

	mu      sync.Mutex // serialises applying a new version; guards lastErr, applied
	lastErr error
	loaded  filewatch.Snapshot // the file as Load read it; Watch starts from it
	// applied is the sum of the version in force, so that Watch noticing
	// the file Write wrote does not apply it a second time.
	applied [32]byte

	// edit serialises Write's check and write.
	edit sync.Mutex

	// poll, when > 0, makes Watch poll at that interval instead of using
	// file system notifications (for tests).
	poll time.Duration

	onChange atomic.Pointer[func()]

	// introduced is bound into every Rules the engine holds (under mu).
	introduced IntroducedSet
}

// SetIntroduced supplies the members of the built-in group "introduced"
// (package introductions); until it is called the group is empty. The
// rules in force, and every version loaded later, ask s.
func (e *Engine) SetIntroduced(s IntroducedSet) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.introduced = s
	e.store(e.rules.Load())
}

// store makes a copy of r, bound to the introduced set, the rules in force
// (under mu, or before the engine is shared). Rules are never changed once
// published, so they are copied rather than edited.
func (e *Engine) store(r *Rules) {
	c := *r
	c.introduced = e.introduced
	e.rules.Store(&c)
}

// OnChange makes Watch call fn (from its goroutine) after each change of
// the rules in force: new rules, or none when the file is removed.
func (e *Engine) OnChange(fn func()) { e.onChange.Store(&fn) }

func (e *Engine) changed() {
	if fn := e.onChange.Load(); fn != nil {
		(*fn)()
	}
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
	snap := filewatch.Read(path)
	if snap.Err != nil {
		return nil, fmt.Errorf("read firewall rules: %w", snap.Err)
	}
	r := &Rules{}
	if snap.Exists {
		var err error
		if r, err = Parse(snap.Data, path); err != nil {
			return nil, err
		}
		log.Debug("loaded firewall rules", "path", path)
	} else {
		log.Warn("no firewall file: every peer is denied everything", "path", path)
	}
	e.store(r)
	if snap.Exists {
		e.applied = sha256.Sum256(snap.Data)
	}
	snap.Data = nil // Watch compares versions by their sum only
	e.loaded = snap
	return e, nil
}

// Path is the firewall file the engine reads.
func (e *Engine) Path() string { return e.path }

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

// File returns the firewall file's text as it is now and its version (the
// SHA-256 of the text, in hex; "" when there is no file), for an editor to
// start from and to give back to [Engine.Write].
func (e *Engine) File() (text []byte, version string, err error) {
	s := filewatch.Read(e.path)
	if s.Err != nil {
		return nil, "", fmt.Errorf("read firewall rules: %w", s.Err)
	}
	return s.Data, versionOf(s), nil
}

// versionOf names a reading of the file for File and Write.
func versionOf(s filewatch.Snapshot) string {
	if !s.Exists {
		return ""
	}
	return hex.EncodeToString(s.Sum[:])
}

// Candidate parses src as the firewall file, without putting it in force:
// the rules src would make, bound to the engine's introduced set so that
// they decide as the rules in force would (a preview of an unsaved edit).
func (e *Engine) Candidate(src []byte) (*Rules, error) {
	r, err := Parse(src, e.path)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := *r
	c.introduced = e.introduced
	return &c, nil
}

// Write replaces the firewall file with src and puts it in force at once,
// as Watch does when it notices an edit (OnChange is called), so that the
// next request of any peer is decided by it. src must parse: a file with
// errors is refused (an [*config.Error] wrapping ErrInvalidRules) and
// nothing is written. base is the version the edit started from (see
// [Engine.File]): when the file is at another version now, nothing is
// written and the error wraps ErrChanged.
func (e *Engine) Write(src []byte, base string) error {
	if _, err := Parse(src, e.path); err != nil {
		return err
	}
	e.edit.Lock()
	defer e.edit.Unlock()
	cur := filewatch.Read(e.path)
	if cur.Err != nil {
		return fmt.Errorf("read firewall rules: %w", cur.Err)
	}
	if now := versionOf(cur); now != base {
		from := "no file"
		if base != "" {
			from = fmt.Sprintf("version %.12s", base)
		}
		return fmt.Errorf("%w: %s is at version %.12s now, the edit started from %s; load it again and redo the edit",
			ErrChanged, e.path, now, from)
	}
	if err := filewatch.WriteFile(e.path, src, 0o600); err != nil {
		return fmt.Errorf("write firewall rules: %w", err)
	}
	// Applied as written, not read back: a write by someone else after
	// this one is Watch's to notice.
	e.apply(filewatch.Snapshot{Data: src, Exists: true, Sum: sha256.Sum256(src)})
	return e.LastError()
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
// when notifications are not available. See package filewatch.
func (e *Engine) Watch(ctx context.Context) {
	filewatch.Watch(ctx, e.path, filewatch.Options{Initial: e.loaded, Poll: e.poll, Log: e.log}, e.apply)
}

// apply makes a new version of the file current: new rules, no rules if
// the file is gone, or the previous rules and an error if it cannot be read
// or parsed.
func (e *Engine) apply(s filewatch.Snapshot) {
	// The callback runs after the lock is released: it may ask the engine.
	if e.replace(s) {
		e.changed()
	}
}

// replace applies s under the lock and reports whether the rules changed.
func (e *Engine) replace(s filewatch.Snapshot) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case s.Err != nil:
		e.fail(fmt.Errorf("read firewall rules: %w", s.Err))
	case !s.Exists:
		e.store(&Rules{})
		e.lastErr = nil
		e.applied = [32]byte{}
		e.log.Warn("firewall file removed: every peer is denied everything", "path", e.path)
		return true
	case sha256.Sum256(s.Data) == e.applied && e.lastErr == nil:
		return false // in force already (Write applied it)
	default:
		r, err := Parse(s.Data, e.path)
		if err != nil {
			e.fail(err)
			return false
		}
		e.store(r)
		e.lastErr = nil
		e.applied = sha256.Sum256(s.Data)
		e.log.Info("reloaded firewall rules", "path", e.path)
		return true
	}
	return false
}

// fail records err and logs it, unless it is the error already recorded.
func (e *Engine) fail(err error) {
	if e.lastErr == nil || e.lastErr.Error() != err.Error() {
		e.log.Error("cannot load the firewall file; keeping the previous rules", "path", e.path, "error", err.Error())
	}
	e.lastErr = err
}
