package firewall

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dpc-go/dpc/host/internal/filewatch"
	"github.com/dpc-go/dpc/host/internal/filewatch/watchtest"
)

// TestWriteAppliesAtOnce: an edit saved through the engine (the web UI's
// firewall editor) decides the very next request, without waiting for the
// file watcher, and tells OnChange (which tells peers) once; a broken edit
// or one of an older version is refused and changes nothing.
func TestWriteAppliesAtOnce(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		text      string
		meanwhile string // written to the file after the edit started
		base      func(started string) string
		wantErr   error
		wantIn    string
		wantFiles bool // dave may send files after the call
	}{
		"an edit of the current version": {text: contactsMay(Messages, Files), base: same, wantFiles: true},
		"an edit of a file that changed meanwhile": {text: contactsMay(Messages, Files), meanwhile: contactsMay(History),
			base: same, wantErr: ErrChanged, wantIn: "load it again"},
		"an edit that does not parse": {text: "rule \"group\" \"contacts\" {\n  allow = [\"mesages\"]\n}\n", base: same,
			wantErr: ErrInvalidRules, wantIn: `firewall.hcl:2:12: Invalid resource: "mesages" is not a resource`},
		"an edit naming no version of an existing file": {text: contactsMay(Files), base: func(string) string { return "" },
			wantErr: ErrChanged},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "firewall.hcl")
			watchtest.WriteInPlace(t, path, contactsMay(Messages))
			e, err := Load(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			var changes atomic.Int32
			e.OnChange(func() { changes.Add(1) })
			_, started, err := e.File()
			if err != nil {
				t.Fatal(err)
			}
			if tc.meanwhile != "" {
				watchtest.WriteAtomic(t, path, tc.meanwhile)
			}
			before, _, _ := e.File()
			err = e.Write([]byte(tc.text), tc.base(started))
			if got := e.Check(dave, Files, contacts{dave}).Allowed; got != tc.wantFiles {
				t.Errorf("dave may send files: %v right after the call, want %v", got, tc.wantFiles)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantIn) {
					t.Fatalf("want an error wrapping %v containing %q, got %v", tc.wantErr, tc.wantIn, err)
				}
				if after, _, _ := e.File(); string(after) != string(before) {
					t.Errorf("a refused edit changed the file to\n%s", after)
				}
				if n := changes.Load(); n != 0 {
					t.Errorf("a refused edit called OnChange %d times", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := changes.Load(); n != 1 {
				t.Errorf("OnChange called %d times by the write, want 1", n)
			}
			if got, _ := os.ReadFile(path); string(got) != tc.text {
				t.Errorf("the file holds\n%s\nwant\n%s", got, tc.text)
			}
		})
	}
}

func same(s string) string { return s }

// TestWriteIsNotAppliedTwice: the file watcher noticing the file Write
// wrote does not put it in force again (no second OnChange, no second
// "reloaded" line in the log).
func TestWriteIsNotAppliedTwice(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "firewall.hcl")
	watchtest.WriteInPlace(t, path, contactsMay(Messages))
	var logs watchtest.LogBuffer
	e, err := Load(path, watchtest.Logger(&logs))
	if err != nil {
		t.Fatal(err)
	}
	var changes atomic.Int32
	e.OnChange(func() { changes.Add(1) })
	_, v, _ := e.File()
	if err := e.Write([]byte(contactsMay(Files)), v); err != nil {
		t.Fatal(err)
	}
	// What Watch hands apply once it notices the write: the same version.
	if e.replace(filewatch.Read(path)) {
		t.Error("the version Write put in force was applied again")
	}
	if n := changes.Load(); n != 1 {
		t.Errorf("OnChange called %d times, want 1", n)
	}
	if n := strings.Count(logs.String(), "reloaded firewall rules"); n != 1 {
		t.Errorf("%d reload lines in the log, want 1:\n%s", n, logs.String())
	}
}

// TestCandidateDecidesAsTheRulesInForce: unsaved rules previewed for a
// node see the built-in group "introduced" as the rules in force do.
func TestCandidateDecidesAsTheRulesInForce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "firewall.hcl")
	watchtest.WriteInPlace(t, path, "")
	e, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.SetIntroduced(introduced{carol})
	r, err := e.Candidate([]byte("rule \"group\" \"introduced\" {\n  allow = [\"messages\"]\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Check(carol, Messages, nil).Allowed {
		t.Error("an introduced node is not in the group \"introduced\" of unsaved rules")
	}
	if _, err := e.Candidate([]byte("rule {")); !errors.Is(err, ErrInvalidRules) {
		t.Errorf("broken rules: want ErrInvalidRules, got %v", err)
	}
}
