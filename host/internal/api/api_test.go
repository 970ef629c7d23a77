package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/plugins"
)

type fakePlugins struct{}

func (fakePlugins) Status() []plugins.Status {
	return []plugins.Status{{ID: "backup/x", State: plugins.StateRunning}}
}
func (fakePlugins) Events() []plugins.Event { return nil }

func TestNewTokenRotates(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "api.token")
	first, err := NewToken(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: want mode 0600, got %v (err %v)", fi.Mode().Perm(), err)
	}
	again, err := NewToken(path)
	if err != nil || again == first || len(first) != 64 || len(again) != 64 {
		t.Errorf("NewToken twice: want two different 64-char tokens, got %q then %q (err %v)", first, again, err)
	}
	if b, _ := os.ReadFile(path); strings.TrimSpace(string(b)) != again {
		t.Errorf("token file: want the newest token %q, got %q", again, b)
	}
}

// serve runs a Server on a TCP port and a socket in dir.
func serve(t *testing.T, dir string) (tcpAddr, token string) {
	t.Helper()
	return serveWith(t, dir)
}

// serveWith is serve with the capabilities' routes mounted.
func serveWith(t *testing.T, dir string, routes ...Routes) (tcpAddr, token string) {
	t.Helper()
	lns, err := Listen("127.0.0.1:0", filepath.Join(dir, "api.sock"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := NewToken(filepath.Join(dir, "api.token"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ServerOptions{Listeners: lns, Token: tok, Logger: hclog.NewNullLogger(), Plugins: fakePlugins{}, Routes: routes,
		Node: NodeInfo{NodeID: "dpc-node-0123456789abcdef0123456789abcdef"}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return lns.TCPAddr(), tok
}

func TestServerRequiresTheToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr, tok := serve(t, dir)

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

	c, err := Dial(filepath.Join(dir, "api.sock"), filepath.Join(dir, "api.token"))
	if err != nil {
		t.Fatal(err)
	}
	var st []plugins.Status
	if err := c.Get(context.Background(), "/v1/plugins", &st); err != nil || len(st) != 1 || st[0].ID != "backup/x" {
		t.Errorf("client over the socket: want backup/x, got %+v (err %v)", st, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "api.sock"))
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("api.sock: want a socket with mode 0600, got %v (err %v)", fi.Mode(), err)
	}
}

func TestClientWithoutNode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock, tokPath := filepath.Join(dir, "api.sock"), filepath.Join(dir, "api.token")
	if _, err := Dial(sock, tokPath); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Dial without a token: want ErrNotRunning, got %v", err)
	}
	if _, err := NewToken(tokPath); err != nil {
		t.Fatal(err)
	}
	c, err := Dial(sock, tokPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Get(context.Background(), "/v1/plugins", &[]plugins.Status{}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Get with no socket: want ErrNotRunning, got %v", err)
	}
	// A socket left by a node that died: nothing accepts on it.
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	if err := c.Get(context.Background(), "/v1/plugins", &[]plugins.Status{}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Get with a stale socket: want ErrNotRunning, got %v", err)
	}
}

func TestListenSocket(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		// prepare sets up dir and returns the socket path to listen on.
		prepare func(t *testing.T, dir string) string
		wantErr error
	}{
		"a stale socket left by a node that died is replaced": {prepare: func(t *testing.T, dir string) string {
			path := filepath.Join(dir, "api.sock")
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			ln.(*net.UnixListener).SetUnlinkOnClose(false)
			ln.Close()
			return path
		}},
		"a socket that answers means another node runs here": {prepare: func(t *testing.T, dir string) string {
			path := filepath.Join(dir, "api.sock")
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
			return path
		}, wantErr: ErrAlreadyRunning},
		"a directory others may write in is refused": {prepare: func(t *testing.T, dir string) string {
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "api.sock")
		}, wantErr: home.ErrNotPrivate},
		"a path longer than sun_path is reached through the directory's descriptor": {prepare: func(t *testing.T, dir string) string {
			long := filepath.Join(dir, strings.Repeat("d", 60), strings.Repeat("e", 60))
			if err := os.MkdirAll(long, 0o700); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(long, "api.sock")
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "home")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := tc.prepare(t, dir)
			lns, err := Listen("127.0.0.1:0", path)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("want %v, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tok, err := NewToken(filepath.Join(filepath.Dir(path), "api.token"))
			if err != nil {
				t.Fatal(err)
			}
			srv, err := NewServer(ServerOptions{Listeners: lns, Token: tok, Logger: hclog.NewNullLogger(), Plugins: fakePlugins{}})
			if err != nil {
				t.Fatal(err)
			}
			srv.Start()
			c, err := Dial(path, filepath.Join(filepath.Dir(path), "api.token"))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Get(context.Background(), "/v1/plugins", &[]plugins.Status{}); err != nil {
				t.Errorf("request over the socket: %v", err)
			}
			if err := srv.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("after Shutdown: want the socket removed, got %v", err)
			}
		})
	}
}

func TestOutsideHome(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	homeDir := filepath.Join(root, "home")
	outside := filepath.Join(root, "note.txt")
	for _, p := range []string{filepath.Join(homeDir, "identity", "node.key"), filepath.Join(homeDir, "api.token"), outside} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(root, "innocent.txt")
	if err := os.Symlink(filepath.Join(homeDir, "identity", "node.key"), link); err != nil {
		t.Fatal(err)
	}
	homeLink := filepath.Join(root, "homelink")
	if err := os.Symlink(homeDir, homeLink); err != nil {
		t.Fatal(err)
	}
	sibling := filepath.Join(root, "home-other.txt") // shares the prefix "home"
	if err := os.WriteFile(sibling, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		path    string
		home    string
		refused bool
	}{
		"the node key":                        {path: filepath.Join(homeDir, "identity", "node.key"), home: homeDir, refused: true},
		"the API token":                       {path: filepath.Join(homeDir, "api.token"), home: homeDir, refused: true},
		"a dot-dot path into the home":        {path: filepath.Join(root, "x", "..", "home", "api.token"), home: homeDir, refused: true},
		"a symbolic link to the node key":     {path: link, home: homeDir, refused: true},
		"the home named through a link":       {path: filepath.Join(homeDir, "api.token"), home: homeLink, refused: true},
		"a file outside the home":             {path: outside, home: homeDir},
		"a sibling whose name starts as home": {path: sibling, home: homeDir},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := outsideHome(tc.path, tc.home)
			if tc.refused {
				if !errors.Is(err, ErrInsideHome) {
					t.Errorf("want ErrInsideHome, got %q, %v", got, err)
				}
				return
			}
			if err != nil || got == "" {
				t.Errorf("want the path allowed, got %q, %v", got, err)
			}
		})
	}
}
