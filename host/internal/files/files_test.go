package files

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/store"
	"github.com/dpc-go/dpc/host/internal/textsafe"
)

const peer = "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func newStore(t *testing.T) *Store {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return New(st, t.TempDir())
}

// receive records an incoming transfer of data and writes data as its
// partial file.
func receive(t *testing.T, fs *Store, id, name string, data []byte) Transfer {
	t.Helper()
	tr := Transfer{ID: id, Peer: peer, Direction: Incoming, Name: name, Size: int64(len(data)), State: StateTransferring, Created: time.Now().UTC()}
	if err := fs.Put(tr); err != nil {
		t.Fatal(err)
	}
	f, _, err := fs.OpenPartial(tr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestFileNameBidiOverrideRefused: names that read as something else
// (U+202E makes "invoice\u202egpj.exe" show as "invoiceexe.jpg"), that
// Windows cannot store, or that it would silently change, are refused.
// Before, only '/', '\' and control characters were.
func TestFileNameBidiOverrideRefused(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		name    string
		wantErr string // "" for accepted
	}{
		"plain":                      {name: "report.pdf"},
		"no extension":               {name: "README"},
		"non-ASCII":                  {name: "Zürich 東京.jpg"},
		"reserved word inside":       {name: "console.log"},
		"reserved prefix, longer":    {name: "COM10.txt"},
		"dot file":                   {name: ".bashrc"},
		"right-to-left override":     {name: "invoice\u202egpj.exe", wantErr: "U+202E, a bidirectional control"},
		"left-to-right override":     {name: "a\u202db.txt", wantErr: "U+202D"},
		"embedding":                  {name: "a\u202ab.txt", wantErr: "U+202A"},
		"pop directional formatting": {name: "a\u202cb.txt", wantErr: "U+202C"},
		"isolate":                    {name: "\u2066a\u2069.txt", wantErr: "U+2066"},
		"first strong isolate":       {name: "a\u2068.txt", wantErr: "U+2068"},
		"left-to-right mark":         {name: "a\u200e.txt", wantErr: "U+200E"},
		"right-to-left mark":         {name: "a\u200f.txt", wantErr: "U+200F"},
		"escape":                     {name: "a\x1b[2J.txt", wantErr: "control character U+001B"},
		"C1 control":                 {name: "a\u0085.txt", wantErr: "control character U+0085"},
		"CON":                        {name: "CON", wantErr: "device name on Windows"},
		"con with extension":         {name: "con.txt", wantErr: "device name on Windows"},
		"NUL with two extensions":    {name: "Nul.tar.gz", wantErr: "device name on Windows"},
		"PRN":                        {name: "prn.pdf", wantErr: "device name on Windows"},
		"AUX":                        {name: "aux.c", wantErr: "device name on Windows"},
		"COM1":                       {name: "com1.txt", wantErr: "device name on Windows"},
		"COM9":                       {name: "COM9", wantErr: "device name on Windows"},
		"LPT1":                       {name: "lpt1.doc", wantErr: "device name on Windows"},
		"LPT9 with space before dot": {name: "LPT9 .txt", wantErr: "device name on Windows"},
		"trailing dot":               {name: "report.pdf.", wantErr: "ends in a dot or a space"},
		"trailing space":             {name: "report.pdf ", wantErr: "ends in a dot or a space"},
		"slash":                      {name: "a/b", wantErr: `cannot hold "/"`},
		"backslash":                  {name: `a\b`, wantErr: `cannot hold "/" or "\"`},
		"dot dot":                    {name: "..", wantErr: "not a file name"},
		"empty":                      {name: "", wantErr: "empty"},
		"invalid UTF-8":              {name: "a\xff.txt", wantErr: "not valid UTF-8"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := CheckName(tc.name)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("want %q accepted, got %v", tc.name, err)
			case tc.wantErr != "" && (err == nil || !errors.Is(err, ErrUnsafeName) || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("want ErrUnsafeName saying %q for %q, got %v", tc.wantErr, tc.name, err)
			}
		})
	}
	// Finalize checks again, for records made before the check existed.
	fs := newStore(t)
	tr := receive(t, fs, "x1", "invoice\u202egpj.exe", []byte("MZ"))
	if _, err := fs.Finalize(tr); !errors.Is(err, ErrUnsafeName) {
		t.Errorf("Finalize of an unsafe name: want ErrUnsafeName, got %v", err)
	}
}

// TestStalePartialExpired: a partial file that received nothing for
// PartialMaxAge is removed and its transfer cancelled; fresh ones, and the
// files of finished transfers, stay. Before, partial files stayed for ever.
func TestStalePartialExpired(t *testing.T) {
	t.Parallel()
	fs := newStore(t)
	now := time.Now()
	age := func(tr Transfer, d time.Duration) {
		t.Helper()
		if err := os.Chtimes(fs.PartialPath(tr), now.Add(-d), now.Add(-d)); err != nil {
			t.Fatal(err)
		}
	}
	stale := receive(t, fs, "stale", "old.bin", []byte("abc"))
	age(stale, PartialMaxAge+time.Minute)
	fresh := receive(t, fs, "fresh", "new.bin", []byte("abc"))
	age(fresh, PartialMaxAge-time.Hour)
	orphan := Transfer{ID: "orphan", Peer: peer}
	if err := os.WriteFile(fs.PartialPath(orphan), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	age(orphan, 30*24*time.Hour)

	expired, err := fs.ExpirePartials(now)
	if err != nil {
		t.Fatal(err)
	}
	if len(expired) != 1 || expired[0].ID != "stale" || expired[0].State != StateCancelled || !strings.Contains(expired[0].Reason, "expired") {
		t.Fatalf("want only the stale transfer cancelled as expired, got %+v", expired)
	}
	for _, tc := range []struct {
		tr   Transfer
		want bool
	}{{stale, false}, {orphan, false}, {fresh, true}} {
		if _, err := os.Stat(fs.PartialPath(tc.tr)); (err == nil) != tc.want {
			t.Errorf("partial file of %s: want present %v, got error %v", tc.tr.ID, tc.want, err)
		}
	}
	if got, err := fs.Get("stale"); err != nil || got.State != StateCancelled {
		t.Errorf("want the stale transfer recorded as cancelled, got %+v (%v)", got, err)
	}
	if got, err := fs.Get("fresh"); err != nil || got.State != StateTransferring {
		t.Errorf("want the fresh transfer untouched, got %+v (%v)", got, err)
	}
}

// TestReceivedFileSyncedBeforeComplete: the bytes of a received file and
// the directory entry of its final name are fsynced (the network sends
// FILE_COMPLETE only after SyncPartial and Finalize). Before, nothing was
// synced, so a crash after FILE_COMPLETE could lose a file the sender had
// been told was safe.
func TestReceivedFileSyncedBeforeComplete(t *testing.T) {
	t.Parallel()
	fs := newStore(t)
	var synced []string
	fs.fsync = func(f *os.File) error {
		synced = append(synced, f.Name())
		return f.Sync()
	}
	tr := receive(t, fs, "t1", "photo.jpg", []byte("data"))
	if err := fs.SyncPartial(tr); err != nil {
		t.Fatal(err)
	}
	path, err := fs.Finalize(tr)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{fs.PartialPath(tr), filepath.Dir(path)}
	if !slices.Equal(synced, want) {
		t.Errorf("want fsync of %q, got %q", want, synced)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "data" {
		t.Errorf("want the file at %s, got %q (%v)", path, b, err)
	}
}

// FuzzCheckName: CheckName never panics, and a name it accepts is a base
// name without controls or bidirectional characters that Windows keeps as
// it is.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"a.txt", "CON.txt", "a\u202eb", "x.", "", "..", "lpt¹.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if CheckName(name) != nil {
			return
		}
		if strings.ContainsAny(name, "/\\") || strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") {
			t.Fatalf("accepted %q", name)
		}
		for _, r := range name {
			if textsafe.IsControl(r) || textsafe.IsBidi(r) {
				t.Fatalf("accepted %q holding %U", name, r)
			}
		}
	})
}
