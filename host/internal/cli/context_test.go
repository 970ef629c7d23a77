package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/host/internal/home"
	"github.com/dpc-go/dpc/host/internal/personal"
)

// TestContextEditRefusesToUndoAChangeMadeMeanwhile: `dpc context edit`
// saves only over the version it opened. Before, a change made while the
// editor was open (by the web UI, `dpc context set`) was silently undone.
// Not parallel: the editor is named by $VISUAL.
func TestContextEditRefusesToUndoAChangeMadeMeanwhile(t *testing.T) {
	const edited = `{"profile": {"name": "Edited in the editor"}}`
	const meanwhile = `{"profile": {"name": "Set meanwhile"}}`
	tests := map[string]struct {
		meanwhile bool
		wantErr   error
		wantName  string
	}{
		"nothing changed meanwhile": {wantName: "Edited in the editor"},
		"a change made meanwhile":   {meanwhile: true, wantErr: personal.ErrChanged, wantName: "Set meanwhile"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := home.Dir(filepath.Join(t.TempDir(), "home"))
			if _, err := run(t, "--home", d.String(), "init", "--name", "First"); err != nil {
				t.Fatal(err)
			}
			// The editor writes the edit, and (as another program would)
			// changes personal.json while it is open.
			script := fmt.Sprintf("#!/bin/sh\nprintf '%%s' '%s' > \"$1\"\n", edited)
			if tc.meanwhile {
				script += fmt.Sprintf("printf '%%s' '%s' > '%s'\n", meanwhile, d.Personal())
			}
			editor := filepath.Join(t.TempDir(), "editor.sh")
			if err := os.WriteFile(editor, []byte(script), 0o700); err != nil {
				t.Fatal(err)
			}
			t.Setenv("VISUAL", editor)
			_, err := run(t, "--home", d.String(), "context", "edit")
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("dpc context edit: %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				kept := strings.TrimSuffix(err.Error()[strings.LastIndex(err.Error(), " ")+1:], ")")
				if b, rerr := os.ReadFile(kept); rerr != nil || string(b) != edited {
					t.Errorf("the refused edit is not kept where the error says (%q): %q, %v", kept, b, rerr)
				}
			}
			out, err := run(t, "--home", d.String(), "context", "show", "profile.name")
			if err != nil || strings.TrimSpace(out) != fmt.Sprintf("%q", tc.wantName) {
				t.Errorf("profile.name after the edit: %q (%v), want %q", out, err, tc.wantName)
			}
		})
	}
}
