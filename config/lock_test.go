package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	sumA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	sumB = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
)

// TestReadLockGolden reads each testdata/lock/*.hcl and compares the entries,
// or the error text, with the .golden file next to it.
func TestReadLockGolden(t *testing.T) {
	t.Parallel()
	inputs, err := filepath.Glob("testdata/lock/*.hcl")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("want testdata/lock/*.hcl, got %v (err %v)", inputs, err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".hcl")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, err := ReadLock(in)
			wantOK := name == "ok" || name == "empty"
			if got := err == nil; got != wantOK {
				t.Fatalf("want success %v, got error %v", wantOK, err)
			}
			var out strings.Builder
			if err != nil {
				var cerr *Error
				if !errors.Is(err, ErrInvalidLock) || !errors.As(err, &cerr) {
					t.Errorf("want an *Error wrapping ErrInvalidLock, got %T %v", err, err)
				}
				out.WriteString(err.Error() + "\n")
			} else {
				for _, e := range l.Entries {
					fmt.Fprintf(&out, "%s/%s %s %s\n", e.Kind, e.Name, e.Version, e.SHA256)
				}
			}
			golden(t, strings.TrimSuffix(in, ".hcl")+".golden", out.String())
		})
	}
}

func TestReadLockMissing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dpc.lock.hcl")
	l, err := ReadLock(path)
	if err != nil {
		t.Fatalf("want no error, got %v", err)
	}
	if l.Path != path || len(l.Entries) != 0 {
		t.Errorf("want an empty lock at %s, got %+v", path, l)
	}
}

func TestLockRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dpc.lock.hcl")
	l := &Lock{Path: path}
	l.Set(LockEntry{Kind: "transport", Name: "direct", Version: "1.0.0", SHA256: sumB})
	l.Set(LockEntry{Kind: "backup", Name: "file", Version: "0.0.1", SHA256: sumB})
	l.Set(LockEntry{Kind: "llm", Name: "echo", Version: `odd "${v}" %{x}` + "\n", SHA256: sumA})
	l.Set(LockEntry{Kind: "backup", Name: "file", Version: "0.1.0", SHA256: sumA}) // replaces
	if err := l.Write(); err != nil {
		t.Fatalf("want no error, got %v", err)
	}
	if err := l.Write(); err != nil { // over an existing file
		t.Fatalf("want no error rewriting, got %v", err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := lockHeader + `

plugin "backup" "file" {
  version = "0.1.0"
  sha256  = "` + sumA + `"
}

plugin "llm" "echo" {
  version = "odd \"$${v}\" %%{x}\n"
  sha256  = "` + sumA + `"
}

plugin "transport" "direct" {
  version = "1.0.0"
  sha256  = "` + sumB + `"
}
`
	if string(data) != want {
		t.Errorf("want\n%s\ngot\n%s", want, data)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("want mode 0644, got %v (err %v)", fi.Mode(), err)
	}
	if names, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*")); len(names) != 1 {
		t.Errorf("want only the lock file in its directory, got %v", names)
	}

	got, err := ReadLock(path)
	if err != nil {
		t.Fatalf("want no error, got %v", err)
	}
	wantEntries := []LockEntry{
		{Kind: "backup", Name: "file", Version: "0.1.0", SHA256: sumA},
		{Kind: "llm", Name: "echo", Version: `odd "${v}" %{x}` + "\n", SHA256: sumA},
		{Kind: "transport", Name: "direct", Version: "1.0.0", SHA256: sumB},
	}
	if !slices.Equal(got.Entries, wantEntries) {
		t.Errorf("want %+v, got %+v", wantEntries, got.Entries)
	}
	if e, ok := got.Find("echo"); !ok || e.Kind != "llm" {
		t.Errorf("want to find llm/echo, got %+v %v", e, ok)
	}
	if e, ok := got.Find("nope"); ok {
		t.Errorf("want no entry for nope, got %+v", e)
	}
}

func TestLockWriteRejects(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ entries []LockEntry }{
		"short sha256":     {entries: []LockEntry{{Kind: "backup", Name: "file", SHA256: "abc"}}},
		"upper-case hex":   {entries: []LockEntry{{Kind: "backup", Name: "file", SHA256: strings.ToUpper(sumA)}}},
		"unknown kind":     {entries: []LockEntry{{Kind: "storage", Name: "file", SHA256: sumA}}},
		"bad name":         {entries: []LockEntry{{Kind: "backup", Name: "a/b", SHA256: sumA}}},
		"name used twice":  {entries: []LockEntry{{Kind: "backup", Name: "x", SHA256: sumA}, {Kind: "llm", Name: "x", SHA256: sumA}}},
		"empty name":       {entries: []LockEntry{{Kind: "backup", SHA256: sumA}}},
		"second entry bad": {entries: []LockEntry{{Kind: "backup", Name: "x", SHA256: sumA}, {Kind: "llm", Name: "y"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "dpc.lock.hcl")
			l := &Lock{Path: path, Entries: tc.entries}
			if err := l.Write(); !errors.Is(err, ErrInvalidLock) {
				t.Errorf("want ErrInvalidLock, got %v", err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("want no file written, got %v", err)
			}
		})
	}
}

func TestLockWriteNoPath(t *testing.T) {
	t.Parallel()
	if err := (&Lock{}).Write(); !errors.Is(err, ErrInvalidLock) {
		t.Errorf("want ErrInvalidLock, got %v", err)
	}
}
