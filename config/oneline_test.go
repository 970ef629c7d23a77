package config

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestOneLinePluginConfig: `plugin "k" "n" { config { … } }` on one line,
// which HCL alone refuses, gives the plugin its config, and an error in it
// points at its real line and column.
func TestOneLinePluginConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		src     string
		wantURL string
		wantErr string // "line,column" of the error, as HCL prints it
	}{
		"one_line":             {src: "plugin \"hub\" \"hub-dpc\" { config { url = \"http://127.0.0.1:8000\" } }\n", wantURL: "http://127.0.0.1:8000"},
		"after_other_lines":    {src: "node {\n  name = \"A\"\n}\nplugin \"hub\" \"hub-dpc\" { config { url = \"http://h:1\" } } # the hub\n", wantURL: "http://h:1"},
		"error_inside_config":  {src: "\nplugin \"hub\" \"hub-dpc\" { config { url = } }\n", wantErr: "2,41"},
		"multi_line_unchanged": {src: "plugin \"hub\" \"hub-dpc\" {\n  config { url = \"http://h:2\" }\n}\n", wantURL: "http://h:2"},
	} {
		t.Run(name, func(t *testing.T) {
			_, plugins, _, diags := parseFile([]byte(tc.src), "dpc.hcl", nil)
			if tc.wantErr != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Error(), "dpc.hcl:"+tc.wantErr) {
					t.Fatalf("want an error at dpc.hcl:%s, got %v", tc.wantErr, diags)
				}
				return
			}
			if diags.HasErrors() || len(plugins) != 1 || plugins[0].Config == nil {
				t.Fatalf("want one plugin with a config, got %+v (%v)", plugins, diags)
			}
			attrs, d := plugins[0].Config.JustAttributes()
			if d.HasErrors() {
				t.Fatal(d)
			}
			v, d := attrs["url"].Expr.Value(&hcl.EvalContext{})
			if d.HasErrors() || v.AsString() != tc.wantURL {
				t.Errorf("url = %v (%v), want %q", v, d, tc.wantURL)
			}
		})
	}
}
