package config

import (
	"slices"
	"testing"

	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
)

func TestDefaultFileContent(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ name string }{
		"plain":          {name: "Alice"},
		"empty":          {name: ""},
		"needs escaping": {name: "Bob \"the\" ${builder} %{if}\n\\"},
		"unicode":        {name: "Zoë 🦊"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "dpc.hcl", string(DefaultFileContent(tc.name)))
			c, err := Load(LoadOptions{Path: path, Vars: map[string]string{"home": "/home/x/.dpc"}})
			if err != nil {
				t.Fatalf("want the default file to load, got %v", err)
			}
			if c.Node.Name != tc.name {
				t.Errorf("want node name %q, got %q", tc.name, c.Node.Name)
			}
			if want := "127.0.0.1:9999"; c.API.Listen != want {
				t.Errorf("want api listen %q, got %q", want, c.API.Listen)
			}
			var ids []string
			for _, p := range c.Plugins {
				if p.Enabled {
					ids = append(ids, p.ID())
				}
			}
			if want := []string{"transport/transport-direct", "llm/llm-local", "backup/backup-file"}; !slices.Equal(ids, want) {
				t.Fatalf("want %q enabled, got %q", want, ids)
			}
			schema := &basev1.Schema{Attributes: []*basev1.Attribute{{Name: "dir", Type: []byte(`"string"`), Required: true}}}
			got, err := ValidatePluginConfig(c.Plugins[2], schema, c.EvalContext())
			if want := `{"dir":"/home/x/.dpc/backups"}`; err != nil || string(got) != want {
				t.Errorf("want %s, got %s (err %v)", want, got, err)
			}
		})
	}
}
