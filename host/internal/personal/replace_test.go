package personal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplaceRefusesAnEditOfAnOlderVersion: an edit of the whole file (the
// web UI's editor, `dpc context edit`) is saved only over the version it
// started from. Before, the editor replaced the file whatever happened to
// it meanwhile, undoing a `dpc context set` made while it was open.
func TestReplaceRefusesAnEditOfAnOlderVersion(t *testing.T) {
	t.Parallel()
	const start = `{"profile": {"name": "Alice"}, "knowledge": {}}`
	const edit = `{"profile": {"name": "Alice", "description": "baker"}, "knowledge": {}}`
	tests := map[string]struct {
		text string
		// meanwhile changes the file after the edit started.
		meanwhile string
		base      func(started string) string
		wantErr   error
		wantIn    string // a substring of the error
	}{
		"edit of the current version":                      {text: edit, base: func(s string) string { return s }},
		"no base given (dpc context edit without a check)": {text: edit, base: func(string) string { return "" }},
		"the file changed meanwhile": {text: edit, meanwhile: `{"profile": {"name": "Alicia"}}`,
			base: func(s string) string { return s }, wantErr: ErrChanged, wantIn: "load it again and redo the edit"},
		"the edit has a JSON error": {text: "{\n  \"profile\": {\"name\": \"Alice\",}\n}", base: func(s string) string { return s },
			wantErr: ErrInvalidContext, wantIn: "personal.json:2:"},
		"the edit has a wrong type": {text: "{\n  \"profile\": {\"name\": 5}\n}", base: func(s string) string { return s },
			wantErr: ErrInvalidContext, wantIn: "personal.json:2:23"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "personal.json")
			if err := os.WriteFile(path, []byte(start), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := Load(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, started := f.View()
			if tc.meanwhile != "" {
				if err := os.WriteFile(path, []byte(tc.meanwhile), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			before := string(mustRead(t, path))
			err = f.Replace([]byte(tc.text), tc.base(started))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantIn) {
					t.Fatalf("want an error wrapping %v containing %q, got %v", tc.wantErr, tc.wantIn, err)
				}
				if got := string(mustRead(t, path)); got != before {
					t.Errorf("a refused edit changed the file:\n%s", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("want the edit saved, got %v", err)
			}
			doc, hash := f.View()
			if p, _ := doc["profile"].(map[string]any); p["description"] != "baker" {
				t.Errorf("the context in force lacks the edit: %v", doc)
			}
			if again, err := Load(path, nil); err != nil || again.Context().Hash() != hash {
				t.Errorf("the file does not hold the context in force (err %v)", err)
			}
		})
	}
}
