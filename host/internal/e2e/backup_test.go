package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dpc-go/dpc/host/internal/plugins"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

const backupPassphrase = "correct horse battery staple"

// backupFile is the plugin block of backup-file storing objects in dir.
func backupFile(dir string) string {
	return fmt.Sprintf("plugin \"backup\" \"backup-file\" {\n  config {\n    dir = %q\n  }\n}\n", dir)
}

var backupNameRE = regexp.MustCompile(`dpc-backup-[0-9a-z]+-[0-9]{8}T[0-9]{6}Z\.age`)

// TestBackupCreateListRestore: alice, who chatted with bob, makes a backup
// through the backup-file plugin from the CLI; with her node stopped, the
// restore reads it through the plugin into a new data directory that is
// the same node (dpc id) with the same conversation (dpc history).
func TestBackupCreateListRestore(t *testing.T) {
	t.Parallel()
	store := filepath.Join(t.TempDir(), "backups")
	alice, bob := newPeerWith(t, "alice", backupFile(store)), newPeer(t, "bob")
	alice.run()
	bob.run()
	contacts(t, alice, bob)
	alice.must("send", bob.id, "kept in the backup")
	alice.waitHistory(bob, time.Minute, "the message delivered", func(l []string) bool {
		return countContaining(l, "kept in the backup") == 1 && countContaining(l, "delivered") == 1
	})
	alice.waitStatus(alice.d, "backup/backup-file", time.Minute, "backup plugin running", func(s plugins.Status) bool { return s.State == "running" })

	pf := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pf, []byte(backupPassphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := alice.must("backup", "create", "--passphrase-file", pf)
	name := backupNameRE.FindString(out)
	if name == "" || !strings.Contains(out, "stored "+name) {
		t.Fatalf("backup create: want `stored NAME`, got\n%s", out)
	}
	if out := alice.must("backup", "list"); !strings.Contains(out, name) {
		t.Fatalf("backup list does not show %s:\n%s", name, out)
	}
	var list []struct {
		Name string `json:"name"`
		Size int64  `json:"size"`
	}
	decodeJSON(t, "backup list --json", alice.must("backup", "list", "--json"), &list)
	if len(list) != 1 || list[0].Name != name || list[0].Size == 0 {
		t.Fatalf("backup list --json: %+v, want %s", list, name)
	}
	if out := alice.must("backup", "verify", name, "--passphrase-file", pf); !strings.Contains(out, "ok: "+name+" is intact: node "+alice.id) {
		t.Fatalf("backup verify: %s", out)
	}
	// The plugin got only ciphertext.
	if hit := grepDir(t, store, "kept in the backup"); hit != "" {
		t.Fatalf("plaintext in the backup store: %s", hit)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	if _, errs, code := alice.dpc("backup", "restore", name, "--to", restored, "--passphrase-file", pf); code == 0 || !strings.Contains(errs, "stop it first") {
		t.Fatalf("restore through the plugin while the node runs: exit %d, %s", code, errs)
	}
	alice.stop()
	// With the node stopped, the restore starts the backup plugin itself.
	out = alice.must("backup", "restore", name, "--to", restored, "--passphrase-file", pf)
	if !strings.Contains(out, "restored node "+alice.id) {
		t.Fatalf("backup restore: %s", out)
	}
	r := &peer{node: &node{t: t, home: restored, name: "alice"}, id: alice.id, port: sdktest.ReservePort(t)}
	if out := r.must("id"); !strings.Contains(out, alice.id) {
		t.Fatalf("dpc --home NEW id: want %s, got\n%s", alice.id, out)
	}
	for _, never := range []string{"api.token", "api.sock", "backups"} {
		if _, err := os.Stat(filepath.Join(restored, never)); err == nil {
			t.Errorf("%s was restored; it must never be in a backup", never)
		}
	}
	r.run()
	r.waitHistory(bob, time.Minute, "the message in the restored node's history", func(l []string) bool {
		return countContaining(l, "kept in the backup") == 1
	})
}

// TestUIBackupProgress: from the web UI, a backup is made with the
// passphrase typed twice; the progress bar reaches done and the list
// shows the new backup, which verifies.
func TestUIBackupProgress(t *testing.T) {
	t.Parallel()
	store := filepath.Join(t.TempDir(), "backups")
	alice := newPeerWith(t, "alice", backupFile(store))
	alice.run()
	alice.waitStatus(alice.d, "backup/backup-file", time.Minute, "backup plugin running", func(s plugins.Status) bool { return s.State == "running" })

	b := newBrowser(t)
	base := uiLogin(t, b, alice)
	b.do("opening the backups screen", chromedp.Navigate(base+"/#/backups"))
	b.waitJS("the passphrase rule shown", `document.querySelector("#backup-rule")?.textContent.includes("At least 12 characters")`)
	b.do("typing a short passphrase", chromedp.SendKeys(chromedp.CSS("#backup-pass"), "too short"),
		chromedp.SendKeys(chromedp.CSS("#backup-pass2"), "too short"), chromedp.Click(chromedp.CSS("#backup-create")))
	b.waitJS("the short passphrase refused", `document.querySelector("#backup-status").textContent.includes("at least 12")`)
	// Typing on makes both "too short; now long enough".
	const pass = "too short; now long enough"
	b.do("typing on to a long passphrase, twice", chromedp.SendKeys(chromedp.CSS("#backup-pass"), "; now long enough"),
		chromedp.SendKeys(chromedp.CSS("#backup-pass2"), "; now long enough"), chromedp.Click(chromedp.CSS("#backup-create")))
	b.waitJS("the progress bar done", `document.querySelector("#backup-progress")?.dataset.state === "done" && document.querySelector("#backup-bar").value === 1`)
	b.waitJS("the backup in the list", `[...document.querySelectorAll("#backups li[data-name]")].length === 1`)
	b.screenshot("backup-done")
	name := b.text("#backups li[data-name] .backup-name")
	if !backupNameRE.MatchString(name) {
		t.Fatalf("the list shows %q, want a backup name", name)
	}
	if _, err := os.Stat(filepath.Join(store, name)); err != nil {
		t.Fatalf("the backup is not in the plugin's directory: %v", err)
	}
	b.do("verifying it", chromedp.SendKeys(chromedp.CSS("#verify-pass"), pass),
		chromedp.Click(chromedp.CSS("#backups li[data-name] button.verify")))
	b.waitJS("verified", `document.querySelector("#backups .verify-result")?.dataset.state === "ok"`)
	b.screenshot("backup-verified")
	if got := b.text("#backups .verify-result"); !strings.Contains(got, alice.id) {
		t.Fatalf("verify result %q does not name %s", got, alice.id)
	}
}
