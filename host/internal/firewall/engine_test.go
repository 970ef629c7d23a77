package firewall

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/filewatch/watchtest"
)

func contactsMay(resources ...string) string {
	return "rule \"group\" \"contacts\" {\n  allow = " + hclList(resources...) + "\n}\n"
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.hcl")
	watchtest.WriteInPlace(t, good, contactsMay(Messages))
	broken := filepath.Join(dir, "broken.hcl")
	watchtest.WriteInPlace(t, broken, "rule \"group\" \"contacts\" {\n  allow = [\"mesages\"]\n}\n")

	tests := map[string]struct {
		path         string
		wantErr      string // substring; "" for success
		wantSentinel error
		wantMessages bool
		wantLog      string
	}{
		"good file":    {path: good, wantMessages: true, wantLog: "loaded firewall rules"},
		"missing file": {path: filepath.Join(dir, "missing.hcl"), wantLog: "no firewall file: every peer is denied everything"},
		"broken file": {path: broken, wantErr: broken + `:2:12: Invalid resource: "mesages" is not a resource`,
			wantSentinel: ErrInvalidRules},
		"unreadable": {path: dir, wantErr: "read firewall rules"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs watchtest.LogBuffer
			e, err := Load(tc.path, watchtest.Logger(&logs))
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
			if got := e.Check(dave, Messages, contacts{dave}).Allowed; got != tc.wantMessages {
				t.Errorf("want contacts' messages allowed %v, got %v", tc.wantMessages, got)
			}
			if e.LastError() != nil {
				t.Errorf("want no LastError, got %v", e.LastError())
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("want the log to say %q, got %q", tc.wantLog, logs.String())
			}
		})
	}
}

func TestLoadNilLogger(t *testing.T) {
	t.Parallel()
	e, err := Load(filepath.Join(t.TempDir(), "firewall.hcl"), nil)
	if err != nil {
		t.Fatalf("want no error, got %v", err)
	}
	if d := e.Check(dave, Messages, contacts{dave}); d.Allowed || d.Rule != DefaultDeny {
		t.Errorf("want everything denied without a file, got %+v", d)
	}
}

func TestWatch(t *testing.T) {
	t.Parallel()
	modes := map[string]time.Duration{"notify": 0, "poll": 20 * time.Millisecond}
	for name, poll := range modes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "firewall.hcl")
			watchtest.WriteInPlace(t, path, contactsMay(Messages))
			var logs watchtest.LogBuffer
			e, err := Load(path, watchtest.Logger(&logs))
			if err != nil {
				t.Fatal(err)
			}
			e.poll = poll
			var changes atomic.Int32
			// The callback may ask the engine: it runs outside its lock.
			e.OnChange(func() { _ = e.LastError(); changes.Add(1) })
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				e.Watch(ctx)
			}()
			t.Cleanup(func() {
				cancel()
				<-done
			})
			may := func(res string) bool { return e.Check(dave, res, contacts{dave}).Allowed }

			// A change is picked up. By rename, here and below, where
			// OnChange calls are counted: an in-place write passes through
			// an empty file (no rules), which a slowed writer may leave long
			// enough to be a version.
			watchtest.WriteAtomic(t, path, contactsMay(Messages, Files))
			watchtest.Eventually(t, "files allowed after the change", func() bool { return may(Files) })
			watchtest.Eventually(t, "OnChange called", func() bool { return changes.Load() == 1 })

			// A broken file keeps the last good rules and says why.
			watchtest.WriteAtomic(t, path, contactsMay(Messages, Files)+"rule \"group\" \"friends\" {}\n")
			watchtest.Eventually(t, "LastError set", func() bool { return e.LastError() != nil })
			err = e.LastError()
			if !errors.Is(err, ErrInvalidRules) || !strings.Contains(err.Error(), path+`:4:14: Undeclared group`) {
				t.Errorf("want LastError to wrap ErrInvalidRules and name %s:4:14, got %v", path, err)
			}
			if !may(Files) || !may(Messages) {
				t.Errorf("want the last good rules kept, got files %v messages %v", may(Files), may(Messages))
			}
			if n := changes.Load(); n != 1 {
				t.Errorf("want no OnChange call for a broken file, got %d calls in all", n)
			}
			watchtest.Eventually(t, "the error logged", func() bool {
				return strings.Contains(logs.String(), "keeping the previous rules") && strings.Contains(logs.String(), path+":4:14")
			})

			// Fixing it clears the error; editors that rename work too.
			watchtest.WriteAtomic(t, path, contactsMay(History))
			watchtest.Eventually(t, "LastError cleared", func() bool { return e.LastError() == nil })
			if may(Files) || may(Messages) || !may(History) {
				t.Errorf("want only history allowed, got files %v messages %v history %v", may(Files), may(Messages), may(History))
			}

			// Several quick writes end with the last one.
			for _, r := range []string{Files, Messages, ChannelInvites, Compute} {
				watchtest.WriteInPlace(t, path, contactsMay(r))
			}
			watchtest.Eventually(t, "the last write in force", func() bool { return may(Compute) && !may(ChannelInvites) })

			// A removed file means no rules.
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			watchtest.Eventually(t, "everything denied once the file is gone", func() bool { return !may(Compute) })
			if e.LastError() != nil {
				t.Errorf("want no error for a missing file, got %v", e.LastError())
			}
			watchtest.WriteInPlace(t, path, contactsMay(Messages))
			watchtest.Eventually(t, "messages allowed once the file is back", func() bool { return may(Messages) })
		})
	}
}

// TestWatchSeesChangesBeforeIt checks that a change made between Load and
// Watch is not missed.
func TestWatchSeesChangesBeforeIt(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "firewall.hcl")
	e, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	watchtest.WriteInPlace(t, path, contactsMay(Messages))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Watch(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	watchtest.Eventually(t, "messages allowed", func() bool { return e.Check(dave, Messages, contacts{dave}).Allowed })
}
