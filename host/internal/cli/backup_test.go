package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/host/internal/backup"
	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/store"
)

const testPassphrase = "correct horse battery staple"

// passFile writes p to a passphrase file and returns its path.
func passFile(t *testing.T, p string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(f, []byte(p+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBackupPassphraseIsRefusedBeforeAnythingHappens(t *testing.T) {
	t.Parallel()
	// An initialized home whose node "runs" (a token): the passphrase is
	// refused before the node is asked anything.
	h := filepath.Join(t.TempDir(), "home")
	if _, err := run(t, "--home", h, "init", "--name", "Gopher"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(home.Dir(h).APIToken(), []byte("token"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		args []string
		want error
		text string
	}{
		"create without a terminal or file": {[]string{"backup", "create"}, ErrNoPassphrase, "--passphrase-file"},
		"create with a short passphrase":    {[]string{"backup", "create", "--passphrase-file", passFile(t, "eleven char")}, backup.ErrPassphraseTooShort, "at least 12"},
		"verify without a terminal or file": {[]string{"backup", "verify", "dpc-backup-01234567-20261205T010203Z.age"}, ErrNoPassphrase, "--passphrase-file"},
		"verify of a path":                  {[]string{"backup", "verify", "../../etc/passwd"}, backup.ErrBadName, "dpc backup list"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := run(t, append([]string{"--home", h}, tc.args...)...)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want %v naming %q", err, tc.want, tc.text)
			}
		})
	}
}

// TestBackupRestoreFromFile restores an object made from a `dpc init`
// home into a new directory, where `dpc id` shows the same node.
func TestBackupRestoreFromFile(t *testing.T) {
	t.Parallel()
	src := home.Dir(filepath.Join(t.TempDir(), "home"))
	if _, err := run(t, "--home", src.String(), "init", "--name", "Gopher"); err != nil {
		t.Fatal(err)
	}
	id, err := identity.Load(src.Identity())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: src.DB()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Set([]byte("test/key"), []byte("kept")); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(t.TempDir(), backup.ObjectName(id.NodeID, id.Certificate.NotBefore))
	f, err := os.Create(obj)
	if err != nil {
		t.Fatal(err)
	}
	_, err = backup.Write(context.Background(), f, backup.Source{Home: src, DB: st.DB(), NodeID: id.NodeID, Version: Version, WorkFactor: 10}, testPassphrase, nil)
	_ = f.Close()
	_ = st.Close()
	if err != nil {
		t.Fatal(err)
	}
	pf := passFile(t, testPassphrase)
	target := filepath.Join(t.TempDir(), "restored")
	out, err := run(t, "backup", "restore", "--from-file", obj, "--to", target, "--passphrase-file", pf)
	if err != nil || !strings.Contains(out, "restored node "+id.NodeID) {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	out, err = run(t, "--home", target, "id", "--json")
	var got idJSON
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || got.NodeID != id.NodeID {
		t.Fatalf("dpc id in the restored home: %v\n%s\nwant node_id %s", err, out, id.NodeID)
	}
	for name, tc := range map[string]struct {
		args []string
		want error
		text string
	}{
		"again into the same directory": {[]string{"--to", target, "--passphrase-file", pf}, backup.ErrTargetNotEmpty, "--force"},
		"wrong passphrase":              {[]string{"--to", filepath.Join(t.TempDir(), "x"), "--passphrase-file", passFile(t, "not the passphrase")}, backup.ErrWrongPassphrase, "passphrase"},
		"no passphrase on a pipe":       {[]string{"--to", filepath.Join(t.TempDir(), "x")}, ErrNoPassphrase, "--passphrase-file"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := run(t, append([]string{"backup", "restore", "--from-file", obj}, tc.args...)...)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want %v naming %q", err, tc.want, tc.text)
			}
		})
	}
}
