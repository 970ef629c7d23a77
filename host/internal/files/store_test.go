package files

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/store"
)

// openDisk opens a store kept in dir, closed when the test ends unless the
// test closes it first.
func openDisk(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestTransfersSurviveReopen: the records of every direction and state,
// and the bytes of a partial file, are there again after the store is
// closed and reopened (a node restart), and List gives them newest first.
func TestTransfersSurviveReopen(t *testing.T) {
	t.Parallel()
	dbDir, filesDir := filepath.Join(t.TempDir(), "db"), t.TempDir()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := map[string]struct {
		tr      Transfer
		partial []byte // written to the partial file; nil for none
	}{
		"outgoing offer": {tr: Transfer{ID: "t-out", Peer: peer, Direction: Outgoing, Name: "a.txt", Path: "/src/a.txt", Size: 10, SHA256: "aa", MimeType: "text/plain", State: StateOffered, Created: base}},
		"incoming half received": {
			tr:      Transfer{ID: "t-half", Peer: peer, Direction: Incoming, Name: "b.bin", Size: 10, SHA256: "bb", MimeType: "application/octet-stream", Offset: 5, State: StateTransferring, Created: base.Add(time.Minute)},
			partial: []byte("12345"),
		},
		"incoming waiting for the user": {tr: Transfer{ID: "t-wait", Peer: peer, Direction: Incoming, Name: "big.iso", Size: 1 << 30, State: StateWaiting, Created: base.Add(2 * time.Minute)}},
		"cancelled with a reason":       {tr: Transfer{ID: "t-cancel", Peer: peer, Direction: Outgoing, Name: "c.txt", State: StateCancelled, Reason: "cancelled by the peer", Created: base.Add(3 * time.Minute)}},
		"completed":                     {tr: Transfer{ID: "t-done", Peer: peer, Direction: Incoming, Name: "d.txt", Path: "/files/d.txt", Size: 3, Offset: 3, State: StateCompleted, Created: base.Add(4 * time.Minute)}},
	}

	st := openDisk(t, dbDir)
	fs := New(st, filesDir)
	for name, tc := range tests {
		if err := fs.Put(tc.tr); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if tc.partial != nil {
			f, _, err := fs.OpenPartial(tc.tr)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if _, err := f.Write(tc.partial); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	fs = New(openDisk(t, dbDir), filesDir)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := fs.Get(tc.tr.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Updated.IsZero() {
				t.Error("Updated not set by Put")
			}
			got.Updated = time.Time{}
			if got != tc.tr {
				t.Errorf("after reopen:\n got %+v\nwant %+v", got, tc.tr)
			}
			f, offset, err := fs.OpenPartial(got)
			if err != nil {
				t.Fatal(err)
			}
			_ = f.Close()
			if offset != int64(len(tc.partial)) {
				t.Errorf("partial file resumes at %d, want %d", offset, len(tc.partial))
			}
		})
	}
	list, err := fs.List()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tr := range list {
		ids = append(ids, tr.ID)
	}
	if want := []string{"t-done", "t-cancel", "t-wait", "t-half", "t-out"}; !slices.Equal(ids, want) {
		t.Errorf("List = %v, want newest first %v", ids, want)
	}
}

// TestTransferStateChangesAreKept: each Put replaces the record, so the
// last state written is the one read back, and Updated never goes back.
func TestTransferStateChangesAreKept(t *testing.T) {
	t.Parallel()
	fs := newStore(t)
	tr := Transfer{ID: "t-1", Peer: peer, Direction: Incoming, Name: "a.txt", Size: 4, Created: time.Now().UTC()}
	var last time.Time
	for _, step := range []struct {
		state  State
		offset int64
	}{{StateOffered, 0}, {StateTransferring, 2}, {StateTransferring, 4}, {StateCompleted, 4}} {
		tr.State, tr.Offset = step.state, step.offset
		if err := fs.Put(tr); err != nil {
			t.Fatal(err)
		}
		got, err := fs.Get(tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != step.state || got.Offset != step.offset {
			t.Errorf("after Put(%s, %d): read %s, %d", step.state, step.offset, got.State, got.Offset)
		}
		if got.Updated.Before(last) {
			t.Errorf("Updated went back from %s to %s", last, got.Updated)
		}
		last = got.Updated
	}
	if list, err := fs.List(); err != nil || len(list) != 1 {
		t.Errorf("List = %d records (%v), want the one transfer", len(list), err)
	}
}

func TestUnknownTransferIsErrNotFound(t *testing.T) {
	t.Parallel()
	fs := newStore(t)
	if _, err := fs.Get("no-such-id"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of an unknown id: %v, want ErrNotFound", err)
	}
	list, err := fs.List()
	if err != nil || len(list) != 0 {
		t.Errorf("List of an empty store = %v, %v", list, err)
	}
}

func TestStateDone(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		state State
		done  bool
	}{
		"offered":      {StateOffered, false},
		"waiting":      {StateWaiting, false},
		"transferring": {StateTransferring, false},
		"completed":    {StateCompleted, true},
		"cancelled":    {StateCancelled, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.state.Done(); got != tc.done {
				t.Errorf("%s.Done() = %v, want %v", tc.state, got, tc.done)
			}
		})
	}
}

// TestFinalizeNeverReplacesAFile: a received file takes the first free
// name, "name (n).ext", and the files already there keep their contents.
func TestFinalizeNeverReplacesAFile(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		name     string
		existing []string
		want     string
	}{
		"free name":              {name: "report.pdf", want: "report.pdf"},
		"taken once":             {name: "report.pdf", existing: []string{"report.pdf"}, want: "report (1).pdf"},
		"taken twice":            {name: "report.pdf", existing: []string{"report.pdf", "report (1).pdf"}, want: "report (2).pdf"},
		"no extension, taken":    {name: "README", existing: []string{"README"}, want: "README (1)"},
		"two dots keep the last": {name: "a.tar.gz", existing: []string{"a.tar.gz"}, want: "a.tar (1).gz"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fs := newStore(t)
			if err := os.MkdirAll(fs.peerDir(peer), 0o700); err != nil {
				t.Fatal(err)
			}
			for _, e := range tc.existing {
				if err := os.WriteFile(filepath.Join(fs.peerDir(peer), e), []byte("old "+e), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			tr := receive(t, fs, "t-"+name, tc.name, []byte("new bytes"))
			path, err := fs.Finalize(tr)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(fs.peerDir(peer), tc.want); path != want {
				t.Errorf("Finalize put the file at %s, want %s", path, want)
			}
			if b, err := os.ReadFile(path); err != nil || string(b) != "new bytes" {
				t.Errorf("received file holds %q (%v)", b, err)
			}
			for _, e := range tc.existing {
				if b, err := os.ReadFile(filepath.Join(fs.peerDir(peer), e)); err != nil || string(b) != "old "+e {
					t.Errorf("%s changed: %q (%v)", e, b, err)
				}
			}
			if _, err := os.Stat(fs.PartialPath(tr)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("partial file still there: %v", err)
			}
		})
	}
}

// TestHashAndTypeOfFixtures: the hash and size are the file's, and the
// type comes from the extension, else from the first bytes.
func TestHashAndTypeOfFixtures(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		file, sha256, mime string
		size               int64
	}{
		"type from the extension": {file: "hello.txt", size: 12, sha256: "936a1148a55af30b1038be4995a2c8259acf13cabda55d1f5b6d2bcefefb1a76", mime: "text/plain"},
		"image from its content":  {file: "picture", size: 33, sha256: "4ffd8bb30991e3a6f28d1d03f1aedcd02ccf8e0cc16bb9e969e7bc2bda1ddf03", mime: "image/png"},
		"text from its content":   {file: "notes", size: 33, sha256: "90ba273cdec3d8bc60bfc4c60cd3c7fa129927a50da6126e171e8d4169013e84", mime: "text/plain"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			sum, size, err := HashFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if sum != tc.sha256 || size != tc.size {
				t.Errorf("HashFile = %s, %d; want %s, %d", sum, size, tc.sha256, tc.size)
			}
			if got := DetectMime(path); got != tc.mime {
				t.Errorf("DetectMime = %q, want %q", got, tc.mime)
			}
		})
	}
	if _, _, err := HashFile(filepath.Join("testdata", "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("HashFile of a missing file: %v, want ErrNotExist", err)
	}
}
