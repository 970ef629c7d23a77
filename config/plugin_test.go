package config

import (
	"errors"
	"testing"

	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
	"github.com/hashicorp/hcl/v2"
)

// loadPlugin loads src as dpc.hcl and returns its first plugin block and
// the EvalContext Load used.
func loadPlugin(t *testing.T, src string) (Plugin, *hcl.EvalContext) {
	t.Helper()
	c, err := load([]byte(src), LoadOptions{
		Path: "dpc.hcl",
		Env:  []string{"API_KEY=secret"},
		Vars: map[string]string{"home": "/h"},
	})
	if err != nil {
		t.Fatalf("want %q to load, got %v", src, err)
	}
	if len(c.Plugins) == 0 {
		t.Fatalf("want a plugin block in %q", src)
	}
	return c.Plugins[0], c.EvalContext()
}

func attr(name, typ string, required bool) *basev1.Attribute {
	return &basev1.Attribute{Name: name, Type: []byte(typ), Required: required}
}

var (
	fileSchema = &basev1.Schema{Attributes: []*basev1.Attribute{
		attr("dir", `"string"`, true),
		attr("keep", `"number"`, false),
		attr("tags", `["list","string"]`, false),
		attr("api_key", `"string"`, false),
	}}
	nestedSchema = &basev1.Schema{
		Attributes: []*basev1.Attribute{attr("name", `"string"`, false)},
		Blocks: []*basev1.Block{
			{TypeName: "server", Nesting: basev1.Block_NESTING_LIST, Body: &basev1.Schema{
				Attributes: []*basev1.Attribute{attr("url", `"string"`, true), attr("weight", `"number"`, false)},
			}},
			{TypeName: "tls", Nesting: basev1.Block_NESTING_SINGLE, Body: &basev1.Schema{
				Attributes: []*basev1.Attribute{attr("ca", `"string"`, false)},
			}},
		},
	}
	requiredBlockSchema = &basev1.Schema{Blocks: []*basev1.Block{
		{TypeName: "server", Nesting: basev1.Block_NESTING_LIST, Required: true, Body: &basev1.Schema{}},
	}}
)

func TestValidatePluginConfig(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		src     string
		schema  *basev1.Schema
		want    string // JSON, or the error text when wantErr
		wantErr bool
	}{
		"ok with variables": {
			src:    "plugin \"backup\" \"file\" {\n  config {\n    dir  = \"${home}/backups\"\n    keep = 3\n  }\n}",
			schema: fileSchema,
			want:   `{"dir":"/h/backups","keep":3}`,
		},
		"env function": {
			src: `plugin "backup" "file" {
  config {
    dir     = "/d"
    api_key = env("API_KEY")
    tags    = ["a", "b"]
  }
}`,
			schema: fileSchema,
			want:   `{"api_key":"secret","dir":"/d","tags":["a","b"]}`,
		},
		"explicit null is omitted": {
			src: `plugin "backup" "file" {
  config {
    dir  = "/d"
    keep = null
  }
}`,
			schema: fileSchema,
			want:   `{"dir":"/d"}`,
		},
		"unknown attribute": {
			src: `plugin "backup" "file" {
  config {
    dir = "/d"
    kep = 3
  }
}`,
			schema:  fileSchema,
			wantErr: true,
			want:    `dpc.hcl:4:5: Unsupported argument: An argument named "kep" is not expected here. Did you mean "keep"?`,
		},
		"missing required attribute": {
			src:     "plugin \"backup\" \"file\" {\n  config { keep = 1 }\n}",
			schema:  fileSchema,
			wantErr: true,
			want:    `dpc.hcl:2:12: Missing required argument: The argument "dir" is required, but no definition was found.`,
		},
		"missing required attribute without config block": {
			src:     "\nplugin \"backup\" \"file\" {}",
			schema:  fileSchema,
			wantErr: true,
			want:    `dpc.hcl:2:1: Missing required argument: The argument "dir" is required, but no definition was found.`,
		},
		"wrong type": {
			src: `plugin "backup" "file" {
  config {
    dir  = "/d"
    keep = "many"
  }
}`,
			schema:  fileSchema,
			wantErr: true,
			want:    `dpc.hcl:4:12: Incorrect attribute value type: Inappropriate value for attribute "keep": a number is required.`,
		},
		"unknown variable": {
			src:     "plugin \"backup\" \"file\" {\n  config { dir = \"${hom}/b\" }\n}",
			schema:  fileSchema,
			wantErr: true,
			want:    `dpc.hcl:2:21: Unknown variable: There is no variable named "hom". Did you mean "home"?`,
		},
		"nested block list": {
			src: `plugin "hub" "dpc" {
  config {
    server { url = "a" }
    server {
      url    = "b"
      weight = 2
    }
  }
}`,
			schema: nestedSchema,
			want:   `{"server":[{"url":"a"},{"url":"b","weight":2}]}`,
		},
		"nested single block": {
			src:    "plugin \"hub\" \"dpc\" {\n  config {\n    tls { ca = \"/ca.pem\" }\n  }\n}",
			schema: nestedSchema,
			want:   `{"server":[],"tls":{"ca":"/ca.pem"}}`,
		},
		"nested block with unknown attribute": {
			src: `plugin "hub" "dpc" {
  config {
    server { uri = "a" }
  }
}`,
			schema:  nestedSchema,
			wantErr: true,
			want: "dpc.hcl:3:14: Missing required argument: The argument \"url\" is required, but no definition was found.\n" +
				`dpc.hcl:3:14: Unsupported argument: An argument named "uri" is not expected here. Did you mean "url"?`,
		},
		"two single blocks": {
			src:     "plugin \"hub\" \"dpc\" {\n  config {\n    tls {}\n    tls {}\n  }\n}",
			schema:  nestedSchema,
			wantErr: true,
			want:    `dpc.hcl:4:5: Duplicate tls block: Only one block of type "tls" is allowed. Previous definition was at dpc.hcl:3,5-8.`,
		},
		"missing required block": {
			src:     "plugin \"hub\" \"dpc\" {\n  config {}\n}",
			schema:  requiredBlockSchema,
			wantErr: true,
			want:    `dpc.hcl:2:10: Insufficient server blocks: At least 1 "server" blocks are required.`,
		},
		"no schema but config": {
			src:     "plugin \"transport\" \"direct\" {\n  config { port = 1 }\n}",
			wantErr: true,
			want:    `dpc.hcl:2:3: configuration not allowed: plugin transport/direct takes no configuration`,
		},
		"empty schema but config block": {
			src:     "plugin \"transport\" \"direct\" {\n  config {\n    tls {}\n  }\n}",
			schema:  &basev1.Schema{},
			wantErr: true,
			want:    `dpc.hcl:2:3: configuration not allowed: plugin transport/direct takes no configuration`,
		},
		"no schema and empty config": {
			src:  "plugin \"transport\" \"direct\" {\n  config {}\n}",
			want: `{}`,
		},
		"no schema and no config": {
			src:  `plugin "transport" "direct" {}`,
			want: `{}`,
		},
		"empty body": {
			src:    `plugin "hub" "dpc" {}`,
			schema: &basev1.Schema{Attributes: []*basev1.Attribute{attr("name", `"string"`, false)}},
			want:   `{}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, ctx := loadPlugin(t, tc.src)
			got, err := ValidatePluginConfig(p, tc.schema, ctx)
			if tc.wantErr {
				var cerr *Error
				if !errors.Is(err, ErrInvalidPluginConfig) || !errors.As(err, &cerr) {
					t.Fatalf("want an *Error wrapping ErrInvalidPluginConfig, got %v (output %s)", err, got)
				}
				if err.Error() != tc.want {
					t.Errorf("want\n%s\ngot\n%s", tc.want, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("want %s, got error %v", tc.want, err)
			}
			if string(got) != tc.want {
				t.Errorf("want %s, got %s", tc.want, got)
			}
		})
	}
}

func TestValidatePluginConfigBadSchema(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ schema *basev1.Schema }{
		"bad type": {schema: &basev1.Schema{Attributes: []*basev1.Attribute{attr("a", `"strnig"`, false)}}},
		"no type":  {schema: &basev1.Schema{Attributes: []*basev1.Attribute{attr("a", ``, false)}}},
		"bad name": {schema: &basev1.Schema{Attributes: []*basev1.Attribute{attr("a b", `"string"`, false)}}},
		"duplicate name": {schema: &basev1.Schema{
			Attributes: []*basev1.Attribute{attr("a", `"string"`, false)},
			Blocks:     []*basev1.Block{{TypeName: "a", Nesting: basev1.Block_NESTING_SINGLE}},
		}},
		"no nesting": {schema: &basev1.Schema{Blocks: []*basev1.Block{{TypeName: "b"}}}},
		"bad nested type": {schema: &basev1.Schema{Blocks: []*basev1.Block{{
			TypeName: "b", Nesting: basev1.Block_NESTING_LIST,
			Body: &basev1.Schema{Attributes: []*basev1.Attribute{attr("a", `["list"]`, false)}},
		}}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, ctx := loadPlugin(t, `plugin "backup" "file" {}`)
			_, err := ValidatePluginConfig(p, tc.schema, ctx)
			if !errors.Is(err, ErrInvalidSchema) {
				t.Errorf("want ErrInvalidSchema, got %v", err)
			}
		})
	}
}

func TestAttributeRange(t *testing.T) {
	t.Parallel()
	const src = `plugin "hub" "dpc" {
  config {
    dir  = "/d"
    tags = ["a", "b"]
    obj  = { k = 1, "quoted key" = [2, 3] }
    server { url = "a" }
    server {
      url = "b"
    }
  }
}
plugin "transport" "direct" {}
`
	c, err := load([]byte(src), LoadOptions{Path: "dpc.hcl"})
	if err != nil {
		t.Fatalf("want no error, got %v", err)
	}
	withConfig, noConfig := c.Plugins[0], c.Plugins[1]
	tests := map[string]struct {
		p    Plugin
		path []string
		want string
	}{
		"attribute":                   {p: withConfig, path: []string{"dir"}, want: "dpc.hcl:3:12"},
		"list element":                {p: withConfig, path: []string{"tags", "1"}, want: "dpc.hcl:4:18"},
		"list index out of range":     {p: withConfig, path: []string{"tags", "7"}, want: "dpc.hcl:4:12"},
		"object key":                  {p: withConfig, path: []string{"obj", "k"}, want: "dpc.hcl:5:18"},
		"quoted object key and index": {p: withConfig, path: []string{"obj", "quoted key", "1"}, want: "dpc.hcl:5:40"},
		"block list index":            {p: withConfig, path: []string{"server", "1", "url"}, want: "dpc.hcl:8:13"},
		"first block without index":   {p: withConfig, path: []string{"server", "url"}, want: "dpc.hcl:6:20"},
		"missing attribute in block":  {p: withConfig, path: []string{"server", "1", "nope"}, want: "dpc.hcl:7:5"},
		"unknown name":                {p: withConfig, path: []string{"nope"}, want: "dpc.hcl:2:3"},
		"empty path":                  {p: withConfig, path: nil, want: "dpc.hcl:2:3"},
		"no config block":             {p: noConfig, path: []string{"dir"}, want: "dpc.hcl:12:1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := Pos(AttributeRange(tc.p, tc.path)); got != tc.want {
				t.Errorf("want %s, got %s", tc.want, got)
			}
		})
	}
}
