package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/plugins"
)

// TestPluginStatusShowsPinAndGrants: `dpc plugin status` says, for each
// plugin, the sha256 it is pinned to and what it may do through the host
// (before, only --json carried them).
func TestPluginStatusShowsPinAndGrants(t *testing.T) {
	pin := strings.Repeat("ab", 32)
	tests := map[string]struct {
		st   []plugins.Status
		want []string
	}{
		"running, pinned, with grants": {
			st:   []plugins.Status{{ID: "hub/hub-dpc", State: plugins.StateRunning, SHA256: pin, Allowed: []string{"sign hub-login/v1", "store hub sessions"}, Since: time.Now()}},
			want: []string{"hub/hub-dpc: pinned sha256 " + pin + "; may sign hub-login/v1, store hub sessions"},
		},
		"nothing allowed": {
			st:   []plugins.Status{{ID: "backup/backup-file", State: plugins.StateRunning, SHA256: pin, Since: time.Now()}},
			want: []string{"backup/backup-file: pinned sha256 " + pin + "; may -"},
		},
		"no plugins": {want: []string{"The node runs no plugins"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			printStatus(&b, tc.st)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}
