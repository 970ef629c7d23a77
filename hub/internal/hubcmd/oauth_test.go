package hubcmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/hub/internal/oauth"
)

func TestOAuthFlagErrors(t *testing.T) {
	dir := t.TempDir()
	badCfg := filepath.Join(dir, "oauth.hcl")
	if err := os.WriteFile(badCfg, []byte("provider \"corp\" {\n  kind = \"saml\"\n  client_id = \"x\"\n  client_secret_file = \"s\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		is   error
		want string
	}{
		{"require-oauth without a config", []string{"--data", t.TempDir(), "--require-oauth"}, ErrBadFlags,
			"--require-oauth needs --oauth-config FILE"},
		{"config with an unknown kind", []string{"--data", filepath.Join(dir, "never-created"), "--oauth-config", badCfg}, oauth.ErrInvalidConfig,
			badCfg + ":2,"},
		{"missing config file", []string{"--data", t.TempDir(), "--oauth-config", filepath.Join(dir, "nope.hcl")}, oauth.ErrInvalidConfig,
			"nope.hcl: no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := NewRoot()
			cmd.SetArgs(append([]string{"--listen", "127.0.0.1:0"}, tc.args...))
			cmd.SetErr(&strings.Builder{})
			err := cmd.ExecuteContext(context.Background())
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want %v with %q, got %v", tc.is, tc.want, err)
			}
		})
	}
	// A bad config fails before the hub touches its data dir.
	if _, err := os.Stat(filepath.Join(dir, "never-created")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("data dir created despite a bad --oauth-config: %v", err)
	}
}
