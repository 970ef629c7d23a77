package api

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/dpc-go/dpc/host/internal/backup"
	"github.com/dpc-go/dpc/host/internal/fixtureplugin"
	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/store"
	"github.com/dpc-go/dpc/sdk"
)

// backupService is a backup service over a real data directory, an
// in-memory store and the in-memory fixture plugin (or none).
func backupService(t *testing.T, withPlugin bool) (*backup.Service, chan backup.Progress) {
	t.Helper()
	dir := home.Dir(t.TempDir())
	id, err := identity.Create(dir.Identity(), identity.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir.Config(), []byte("node {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	plug := &fixtureplugin.Plugin{}
	if err := plug.Configure(context.Background(), sdk.ConfigureRequest{DataDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	events := make(chan backup.Progress, 1024)
	svc := backup.NewService(backup.ServiceOptions{
		Source: backup.Source{Home: dir, DB: st.DB(), NodeID: id.NodeID, Version: "test", WorkFactor: 10},
		Plugin: func() (sdk.Backup, error) {
			if !withPlugin {
				return nil, backup.ErrNoPlugin
			}
			return plug, nil
		},
		Publish: func(p backup.Progress) { events <- p },
	})
	t.Cleanup(svc.Close)
	return svc, events
}

func TestBackupRoutes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	svc, events := backupService(t, true)
	serveWith(t, dir, BackupRoutes(svc))
	c, err := Dial(filepath.Join(dir, "api.sock"), filepath.Join(dir, "api.token"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const pass = "a long enough passphrase"
	var started backup.Progress
	if err := c.Post(ctx, "/v1/backups", BackupRequest{Passphrase: pass}, &started); err != nil {
		t.Fatal(err)
	}
	for p := range events {
		if p.State == backup.StateFailed {
			t.Fatalf("backup failed: %s", p.Error)
		}
		if p.State == backup.StateDone {
			break
		}
	}
	var list BackupList
	if err := c.Get(ctx, "/v1/backups", &list); err != nil || len(list.Backups) != 1 || list.Backups[0].Name != started.Name || list.MinPassphrase != backup.MinPassphrase {
		t.Fatalf("list: %+v, %v; want %s", list, err, started.Name)
	}
	var v BackupVerified
	if err := c.Post(ctx, "/v1/backups/"+started.Name+"/verify", BackupRequest{Passphrase: pass}, &v); err != nil || v.Manifest.NodeID == "" {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	for name, tc := range map[string]struct {
		path, pass string
		want       int
	}{
		"passphrase too short":      {"/v1/backups", "short", http.StatusBadRequest},
		"verify, wrong passphrase":  {"/v1/backups/" + started.Name + "/verify", "another long passphrase", http.StatusUnprocessableEntity},
		"verify, not a backup name": {"/v1/backups/api.token/verify", pass, http.StatusBadRequest},
		"verify, no such backup":    {"/v1/backups/dpc-backup-00000000-20000101T000000Z.age/verify", pass, http.StatusNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			err := c.Post(ctx, tc.path, BackupRequest{Passphrase: tc.pass}, nil)
			var re *RequestError
			if !errors.As(err, &re) || re.Status != tc.want {
				t.Fatalf("got %v, want status %d", err, tc.want)
			}
		})
	}
}

func TestBackupRoutesWithoutPlugin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	svc, _ := backupService(t, false)
	serveWith(t, dir, BackupRoutes(svc))
	c, err := Dial(filepath.Join(dir, "api.sock"), filepath.Join(dir, "api.token"))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Post(context.Background(), "/v1/backups", BackupRequest{Passphrase: "a long enough passphrase"}, nil)
	var re *RequestError
	if !errors.As(err, &re) || re.Status != http.StatusConflict {
		t.Fatalf("got %v, want status 409", err)
	}
}
