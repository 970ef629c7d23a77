package config

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
)

// addSeeds adds every file matching glob to the fuzz corpus.
func addSeeds(f *testing.F, glob string) {
	f.Helper()
	paths, err := filepath.Glob(glob)
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzLoad feeds arbitrary bytes as dpc.hcl: Load must either succeed or
// return an *Error, and never panic, nor may the plugin config functions.
func FuzzLoad(f *testing.F) {
	addSeeds(f, "testdata/load/*.hcl")
	f.Add(DefaultFileContent("fuzz"))
	schemas := []*basev1.Schema{nil, fileSchema, nestedSchema, requiredBlockSchema}
	paths := [][]string{{"dir"}, {"server", "0", "url"}, {"tags", "1"}, {"obj", "k", "0"}, {"server", "x"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := load(data, LoadOptions{
			Path: "fuzz.hcl",
			Env:  []string{"DPC_NODE_NAME=n", "API_KEY=k"},
			Vars: map[string]string{"home": "/h"},
		})
		if err != nil {
			var cerr *Error
			if !errors.Is(err, ErrInvalidConfig) || !errors.As(err, &cerr) || err.Error() == "" {
				t.Fatalf("want a non-empty *Error wrapping ErrInvalidConfig, got %T %v", err, err)
			}
			return
		}
		for _, p := range c.Plugins {
			for _, s := range schemas {
				_, err := ValidatePluginConfig(p, s, c.EvalContext())
				if err != nil && !errors.Is(err, ErrInvalidPluginConfig) {
					t.Fatalf("want nil or ErrInvalidPluginConfig, got %v", err)
				}
			}
			for _, path := range paths {
				AttributeRange(p, path)
			}
		}
	})
}

// FuzzReadLock feeds arbitrary bytes as the lock file. Whatever reads
// without error must write and read back to the same entries.
func FuzzReadLock(f *testing.F) {
	addSeeds(f, "testdata/lock/*.hcl")
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := parseLock(data, "fuzz.lock.hcl")
		if err != nil {
			if !errors.Is(err, ErrInvalidLock) || err.Error() == "" {
				t.Fatalf("want a non-empty error wrapping ErrInvalidLock, got %v", err)
			}
			return
		}
		out, err := l.encode()
		if err != nil {
			t.Fatalf("want a lock that was read to encode, got %v", err)
		}
		again, err := parseLock(out, "again.lock.hcl")
		if err != nil {
			t.Fatalf("want the written lock to read back, got %v\n%s", err, out)
		}
		want := slices.SortedFunc(slices.Values(l.Entries), func(a, b LockEntry) int {
			return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
		})
		if !slices.Equal(again.Entries, want) {
			t.Fatalf("want %q, got %q", want, again.Entries)
		}
	})
}
