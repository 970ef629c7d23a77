package api

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/plugins"
)

type fakePlugins struct{}

func (fakePlugins) Status() []plugins.Status {
	return []plugins.Status{{ID: "backup/x", State: plugins.StateRunning}}
}
func (fakePlugins) Events() []plugins.Event { return nil }

func TestEnsureToken(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "api.token")
	first, err := EnsureToken(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: want mode 0600, got %v (err %v)", fi.Mode().Perm(), err)
	}
	again, err := EnsureToken(path)
	if err != nil || again != first || len(first) != 64 {
		t.Errorf("EnsureToken twice: want the same 64-char token, got %q then %q (err %v)", first, again, err)
	}
}

func TestServerRequiresTheToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tok, err := EnsureToken(filepath.Join(dir, "api.token"))
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(ServerOptions{Listen: "127.0.0.1:0", Token: tok, Logger: hclog.NewNullLogger(), Plugins: fakePlugins{}})
	addr, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	if err := WriteAddress(filepath.Join(dir, "api.addr"), addr); err != nil {
		t.Fatal(err)
	}

	tests := map[string]struct {
		header string
		want   int
	}{
		"no token":    {"", http.StatusUnauthorized},
		"wrong token": {"Bearer " + tok[:63] + "x", http.StatusUnauthorized},
		"right token": {"Bearer " + tok, http.StatusOK},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/plugins", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("want status %d, got %d", tc.want, resp.StatusCode)
			}
		})
	}

	c, err := Dial(filepath.Join(dir, "api.token"), filepath.Join(dir, "api.addr"), "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	var st []plugins.Status
	if err := c.Get(context.Background(), "/v1/plugins", &st); err != nil || len(st) != 1 || st[0].ID != "backup/x" {
		t.Errorf("client: want backup/x, got %+v (err %v)", st, err)
	}
}

func TestClientWithoutNode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Dial(filepath.Join(dir, "api.token"), filepath.Join(dir, "api.addr"), "127.0.0.1:1"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Dial without a token: want ErrNotRunning, got %v", err)
	}
	if _, err := EnsureToken(filepath.Join(dir, "api.token")); err != nil {
		t.Fatal(err)
	}
	c, err := Dial(filepath.Join(dir, "api.token"), filepath.Join(dir, "api.addr"), "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Get(context.Background(), "/v1/plugins", &[]plugins.Status{}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Get with nothing listening: want ErrNotRunning, got %v", err)
	}
}
