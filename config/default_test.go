package config

import (
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
			if len(c.Plugins) != 2 || c.Plugins[0].ID() != "transport/transport-direct" || c.Plugins[1].ID() != "backup/backup-file" ||
				!c.Plugins[0].Enabled || !c.Plugins[1].Enabled {
				t.Fatalf("want transport-direct and backup-file enabled, got %+v", c.Plugins)
			}
			schema := &basev1.Schema{Attributes: []*basev1.Attribute{{Name: "dir", Type: []byte(`"string"`), Required: true}}}
			got, err := ValidatePluginConfig(c.Plugins[1], schema, c.EvalContext())
			if want := `{"dir":"/home/x/.dpc/backups"}`; err != nil || string(got) != want {
				t.Errorf("want %s, got %s (err %v)", want, got, err)
			}
		})
	}
}
