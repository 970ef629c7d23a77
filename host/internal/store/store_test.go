package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/go-hclog"
)

func openT(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := Open(o)
	if err != nil {
		t.Fatalf("Open: want no error got %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestOpenCloseReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	s := openT(t, Options{Dir: dir})
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode: want 0700 got %04o", st.Mode().Perm())
	}
	if err := s.Set([]byte("peer/a"), []byte("alice")); err != nil {
		t.Fatalf("Set: want no error got %v", err)
	}
	if err := s.Set([]byte("peer/b"), []byte("bob")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete([]byte("peer/b")); err != nil {
		t.Fatalf("Delete: want no error got %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: want no error got %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: want nil got %v", err)
	}

	closedOps := map[string]func() error{
		"Get":     func() error { _, err := s.Get([]byte("peer/a")); return err },
		"Set":     func() error { return s.Set([]byte("x"), nil) },
		"Delete":  func() error { return s.Delete([]byte("x")) },
		"Iterate": func() error { return s.Iterate(nil, func(k, v []byte) error { return nil }) },
	}
	for name, op := range closedOps {
		if err := op(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: want ErrClosed got %v", name, err)
		}
	}

	s2 := openT(t, Options{Dir: dir})
	got, err := s2.Get([]byte("peer/a"))
	if err != nil || string(got) != "alice" {
		t.Errorf("after reopen: want \"alice\" got %q, %v", got, err)
	}
	if _, err := s2.Get([]byte("peer/b")); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted key after reopen: want ErrNotFound got %v", err)
	}
	v, err := s2.Get([]byte(SchemaVersionKey))
	if err != nil || string(v) != "1" {
		t.Errorf("schema version: want \"1\" got %q, %v", v, err)
	}
}

func TestSchemaCheck(t *testing.T) {
	tests := map[string]struct {
		stored  string
		wantErr error
		want    []string
	}{
		"current": {stored: "1"},
		"newer":   {stored: "2", wantErr: ErrSchemaTooNew, want: []string{"schema version 2", "supports up to 1", "upgrade dpc"}},
		"garbage": {stored: "one", wantErr: ErrCorruptSchema, want: []string{SchemaVersionKey}},
		"zero":    {stored: "0", wantErr: ErrCorruptSchema},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, Options{Dir: dir})
			if err := s.Set([]byte(SchemaVersionKey), []byte(tc.stored)); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2, err := Open(Options{Dir: dir})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("want no error got %v", err)
				}
				s2.Close()
				return
			}
			if !errors.Is(err, tc.wantErr) {
				if s2 != nil {
					s2.Close()
				}
				t.Fatalf("want %v got %v", tc.wantErr, err)
			}
			for _, w := range append(tc.want, dir) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message: want it to contain %q got %q", w, err)
				}
			}
			// The refused database must be closed again (not left locked)
			// and untouched.
			s3, err := Open(Options{Dir: dir})
			if !errors.Is(err, tc.wantErr) {
				if s3 != nil {
					s3.Close()
				}
				t.Errorf("second open: want %v again (db untouched, lock released) got %v", tc.wantErr, err)
			}
		})
	}
}

func TestLockedDirectory(t *testing.T) {
	dir := t.TempDir()
	openT(t, Options{Dir: dir})
	s2, err := Open(Options{Dir: dir})
	if !errors.Is(err, ErrLocked) {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("want ErrLocked got %v", err)
	}
	for _, w := range []string{"another dpc process", dir} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message: want it to contain %q got %q", w, err)
		}
	}
}

func TestIterate(t *testing.T) {
	s := openT(t, Options{InMemory: true})
	keys := []string{"msg/a/2", "msg/a/1", "msg/ab/1", "msg/b/1", "outbox/a/1", "peer/x", "chanop/c/1"}
	for _, k := range keys {
		if err := s.Set([]byte(k), []byte("v:"+k)); err != nil {
			t.Fatal(err)
		}
	}
	tests := map[string]struct {
		prefix string
		want   []string
	}{
		"one conversation": {"msg/a/", []string{"msg/a/1", "msg/a/2"}},
		"all messages":     {"msg/", []string{"msg/a/1", "msg/a/2", "msg/ab/1", "msg/b/1"}},
		"no match":         {"knowledge/", nil},
		"exact key":        {"peer/x", []string{"peer/x"}},
		"everything":       {"", []string{"chanop/c/1", SchemaVersionKey, "msg/a/1", "msg/a/2", "msg/ab/1", "msg/b/1", "outbox/a/1", "peer/x"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			err := s.Iterate([]byte(tc.prefix), func(k, v []byte) error {
				if k != nil && !bytes.HasPrefix(v, []byte("v:")) && string(k) != SchemaVersionKey {
					return fmt.Errorf("value of %q: got %q", k, v)
				}
				got = append(got, string(k))
				return nil
			})
			if err != nil {
				t.Fatalf("want no error got %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("want %v got %v", tc.want, got)
			}
		})
	}

	t.Run("fn error stops", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := s.Iterate([]byte("msg/"), func(k, v []byte) error {
			n++
			return stop
		})
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("want stop after 1 call got %v after %d", err, n)
		}
	})

	t.Run("copies may be kept", func(t *testing.T) {
		var ks, vs [][]byte
		if err := s.Iterate([]byte("msg/"), func(k, v []byte) error {
			ks, vs = append(ks, k), append(vs, v)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if string(ks[0]) != "msg/a/1" || string(vs[3]) != "v:msg/b/1" {
			t.Errorf("want retained copies got keys %q values %q", ks, vs)
		}
	})
}

func TestInMemory(t *testing.T) {
	cwd, _ := os.Getwd()
	before, _ := os.ReadDir(cwd)
	s := openT(t, Options{InMemory: true})
	if _, err := s.Get([]byte("peer/a")); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: want ErrNotFound got %v", err)
	}
	if err := s.Set([]byte("peer/a"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get([]byte("peer/a")); err != nil || string(v) != "1" {
		t.Errorf("want \"1\" got %q, %v", v, err)
	}
	if err := s.Delete([]byte("peer/a")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get([]byte("peer/a")); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted key: want ErrNotFound got %v", err)
	}
	if err := s.Set(nil, []byte("x")); err == nil {
		t.Errorf("empty key: want an error got nil")
	}
	// Transactions through DB() see the same data.
	if err := s.DB().Update(func(txn *badger.Txn) error { return txn.Set([]byte("peer/b"), []byte("2")) }); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get([]byte("peer/b")); err != nil || string(v) != "2" {
		t.Errorf("via DB(): want \"2\" got %q, %v", v, err)
	}
	after, _ := os.ReadDir(cwd)
	if len(after) != len(before) {
		t.Errorf("in-memory store: want no files written got %d entries instead of %d", len(after), len(before))
	}
}

func TestLoggerBridge(t *testing.T) {
	var buf syncBuffer
	logger := hclog.New(&hclog.LoggerOptions{Name: "dpc", Level: hclog.Trace, Output: &buf})
	s, err := Open(Options{Dir: t.TempDir(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "dpc.store:") {
		t.Errorf("want badger's log under \"dpc.store\" got %q", out)
	}
	if strings.Contains(out, "[INFO]") {
		t.Errorf("want badger's INFO mapped to DEBUG got %q", out)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestConcurrentUseAndClose(t *testing.T) {
	s := openT(t, Options{InMemory: true})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				k := fmt.Appendf(nil, "peer/%d/%d", i, j)
				if err := s.Set(k, k); err != nil && !errors.Is(err, ErrClosed) {
					t.Errorf("Set: want nil or ErrClosed got %v", err)
					return
				}
				if _, err := s.Get(k); err != nil && !errors.Is(err, ErrClosed) {
					t.Errorf("Get: want nil or ErrClosed got %v", err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.Close() }()
	wg.Wait()
}

// BenchmarkFootprint reports the Go heap (HeapSys, whole test process) with
// an opened on-disk store, empty and after 10k small writes (the desktop
// sizing in Open).
func BenchmarkFootprint(b *testing.B) {
	val := bytes.Repeat([]byte("x"), 100)
	var open, filled runtime.MemStats
	for range b.N {
		s, err := Open(Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&open)
		wb := s.DB().NewWriteBatch()
		for i := range 10000 {
			if err := wb.Set(fmt.Appendf(nil, "msg/c/%016d", i), val); err != nil {
				b.Fatal(err)
			}
		}
		if err := wb.Flush(); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&filled)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(mib(open.HeapSys), "heap-open-MiB")
	b.ReportMetric(mib(filled.HeapSys), "heap-10k-MiB")
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// BenchmarkStoreSet measures one synchronous Set (an fsync each) on disk.
func BenchmarkStoreSet(b *testing.B) {
	s := openT(b, Options{Dir: b.TempDir()})
	val := bytes.Repeat([]byte("x"), 100)
	i := 0
	for b.Loop() {
		if err := s.Set(fmt.Appendf(nil, "msg/c/%016d", i), val); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestSetManyLargerThanOneTransaction: a batch badger cannot take in one
// transaction (ErrTxnTooBig) is split, not refused, and every pair is on
// disk after a reopen; an empty batch is a no-op.
func TestSetManyLargerThanOneTransaction(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	s := openT(t, Options{Dir: dir})
	if err := s.SetMany(nil); err != nil {
		t.Fatalf("SetMany(nil): %v", err)
	}
	const n = 30_000 // ~3 MB: more than one transaction of an 8 MB memtable
	kvs := make([]KV, n)
	for i := range kvs {
		kvs[i] = KV{Key: fmt.Appendf(nil, "batch/%08d", i), Value: bytes.Repeat([]byte{byte(i)}, 100)}
	}
	if err := s.SetMany(kvs); err != nil {
		t.Fatalf("SetMany: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, Options{Dir: dir})
	got := 0
	err := s.Iterate([]byte("batch/"), func(k, v []byte) error {
		if !bytes.Equal(k, kvs[got].Key) || !bytes.Equal(v, kvs[got].Value) {
			return fmt.Errorf("pair %d: %q", got, k)
		}
		got++
		return nil
	})
	if err != nil || got != n {
		t.Fatalf("after reopen: %d of %d pairs, %v", got, n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMany(kvs[:1]); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetMany on a closed store: want ErrClosed got %v", err)
	}
}

// TestSetManyDeletes: a pair marked Delete removes its key, in batch order
// with the sets around it.
func TestSetManyDeletes(t *testing.T) {
	s := openT(t, Options{InMemory: true})
	err := s.SetMany([]KV{
		{Key: []byte("d/1"), Value: []byte("one")},
		{Key: []byte("d/2"), Value: []byte("two")},
		{Key: []byte("d/1"), Delete: true},
		{Key: []byte("d/3"), Delete: true}, // missing: not an error
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get([]byte("d/1")); !errors.Is(err, ErrNotFound) {
		t.Errorf("d/1 after its delete: %v, want ErrNotFound", err)
	}
	if v, err := s.Get([]byte("d/2")); err != nil || string(v) != "two" {
		t.Errorf("d/2: %q %v", v, err)
	}
}
