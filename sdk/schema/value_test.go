package schema_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/sdk/schema"
)

// decodeConfig exercises every shape Decode handles.
type decodeConfig struct {
	Dir     string            `hcl:"dir"`
	Name    string            `hcl:"name,optional"`
	Port    int               `hcl:"port,optional"`
	Small   uint8             `hcl:"small,optional"`
	Ratio   float64           `hcl:"ratio,optional"`
	Debug   bool              `hcl:"debug,optional"`
	Tags    []string          `hcl:"tags,optional"`
	Labels  map[string]string `hcl:"labels,optional"`
	Limits  limits            `hcl:"limits,block"`
	TLS     *tlsBlock         `hcl:"tls,block"`
	Servers []server          `hcl:"server,block"`
}

// defaults is what a plugin's DefaultConfig would return.
func defaults() *decodeConfig {
	return &decodeConfig{
		Name:    "default",
		Port:    8888,
		Ratio:   0.5,
		Tags:    []string{"a", "b"},
		Labels:  map[string]string{"k": "v"},
		Limits:  limits{Max: 10, Burst: 5},
		Servers: []server{{URL: "https://default.example", Weight: 1}},
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   string
		want func(c *decodeConfig)
	}{
		"defaults kept when absent": {
			in:   `{"dir": "/data"}`,
			want: func(c *decodeConfig) { c.Dir = "/data" },
		},
		"null is the same as absent": {
			in:   `{"dir": "/data", "name": null, "tags": null, "limits": null, "server": null}`,
			want: func(c *decodeConfig) { c.Dir = "/data" },
		},
		"every attribute set": {
			in: `{"dir": "/d", "name": "n", "port": 1, "small": 255, "ratio": 2.5, "debug": true,
				"tags": ["x"], "labels": {"a": "b"}}`,
			want: func(c *decodeConfig) {
				c.Dir, c.Name, c.Port, c.Small, c.Ratio, c.Debug = "/d", "n", 1, 255, 2.5, true
				c.Tags, c.Labels = []string{"x"}, map[string]string{"a": "b"}
			},
		},
		"list replaced, not merged": {
			in:   `{"dir": "/d", "tags": ["c"]}`,
			want: func(c *decodeConfig) { c.Dir, c.Tags = "/d", []string{"c"} },
		},
		"empty list replaces the default": {
			in:   `{"dir": "/d", "tags": []}`,
			want: func(c *decodeConfig) { c.Dir, c.Tags = "/d", []string{} },
		},
		"map replaced, not merged": {
			in:   `{"dir": "/d", "labels": {"x": "y"}}`,
			want: func(c *decodeConfig) { c.Dir, c.Labels = "/d", map[string]string{"x": "y"} },
		},
		"nested block keeps its own defaults": {
			in:   `{"dir": "/d", "limits": {"burst": 7}}`,
			want: func(c *decodeConfig) { c.Dir, c.Limits.Burst = "/d", 7 },
		},
		"optional block absent stays nil": {
			in:   `{"dir": "/d"}`,
			want: func(c *decodeConfig) { c.Dir, c.TLS = "/d", nil },
		},
		"optional block present": {
			in:   `{"dir": "/d", "tls": {"cert": "/c.pem"}}`,
			want: func(c *decodeConfig) { c.Dir, c.TLS = "/d", &tlsBlock{Cert: "/c.pem"} },
		},
		"block list replaced, not merged": {
			in: `{"dir": "/d", "server": [{"url": "u1"}, {"url": "u2", "weight": 3}]}`,
			want: func(c *decodeConfig) {
				c.Dir, c.Servers = "/d", []server{{URL: "u1"}, {URL: "u2", Weight: 3}}
			},
		},
		"empty block list": {
			in:   `{"dir": "/d", "server": []}`,
			want: func(c *decodeConfig) { c.Dir, c.Servers = "/d", []server{} },
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := defaults()
			if err := schema.Decode([]byte(tc.in), got); err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			want := defaults()
			tc.want(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("want %+v, got %+v", want, got)
			}
		})
	}
}

func TestDecodeOptionalBlockOverDefault(t *testing.T) {
	t.Parallel()
	got := defaults()
	got.TLS = &tlsBlock{Cert: "/default.pem", Insecure: true}
	if err := schema.Decode([]byte(`{"dir": "/d", "tls": {"cert": "/c.pem"}}`), got); err != nil {
		t.Fatalf("want no error, got %v", err)
	}
	if want := (tlsBlock{Cert: "/c.pem", Insecure: true}); *got.TLS != want {
		t.Errorf("want the default insecure kept under the new cert %+v, got %+v", want, *got.TLS)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in       string
		wantPath []string
		wantText string
	}{
		"not JSON":                     {in: `{`, wantPath: nil, wantText: "not a JSON object"},
		"not an object":                {in: `[1]`, wantPath: nil, wantText: "not a JSON object"},
		"empty input, required absent": {in: ``, wantPath: []string{"dir"}, wantText: "required"},
		"missing required":             {in: `{"name": "x"}`, wantPath: []string{"dir"}, wantText: `"dir" is required`},
		"unknown attribute":            {in: `{"dir": "/d", "bogus": 1}`, wantPath: []string{"bogus"}, wantText: `unknown attribute "bogus"`},
		"first unknown, sorted": {
			in: `{"dir": "/d", "zz": 1, "aa": 2}`, wantPath: []string{"aa"}, wantText: "unknown",
		},
		"unknown inside a block": {
			in: `{"dir": "/d", "limits": {"bogus": 1}}`, wantPath: []string{"limits", "bogus"}, wantText: "unknown",
		},
		"unknown inside a block list": {
			in:       `{"dir": "/d", "server": [{"url": "a"}, {"url": "b", "bogus": 1}]}`,
			wantPath: []string{"server", "1", "bogus"}, wantText: "unknown",
		},
		"missing required in a block list": {
			in:       `{"dir": "/d", "server": [{"url": "a"}, {"weight": 2}]}`,
			wantPath: []string{"server", "1", "url"}, wantText: "required",
		},
		"null in a block list": {
			in:       `{"dir": "/d", "server": [null]}`,
			wantPath: []string{"server", "0", "url"}, wantText: "required",
		},
		"missing required in an optional block": {
			in: `{"dir": "/d", "tls": {}}`, wantPath: []string{"tls", "cert"}, wantText: "required",
		},
		"wrong type: string for number": {
			in: `{"dir": "/d", "port": "80"}`, wantPath: []string{"port"}, wantText: "want a whole number",
		},
		"wrong type: fraction for whole number": {
			in: `{"dir": "/d", "port": 1.5}`, wantPath: []string{"port"}, wantText: "want a whole number",
		},
		"wrong type: overflow": {
			in: `{"dir": "/d", "small": 256}`, wantPath: []string{"small"}, wantText: "want a whole number",
		},
		"wrong type: number for string": {
			in: `{"dir": 5}`, wantPath: []string{"dir"}, wantText: "want a string",
		},
		"wrong type: string for bool": {
			in: `{"dir": "/d", "debug": "yes"}`, wantPath: []string{"debug"}, wantText: "want a bool",
		},
		"wrong type: string for list": {
			in: `{"dir": "/d", "tags": "a"}`, wantPath: []string{"tags"}, wantText: "want a list of a string",
		},
		"wrong type: list of numbers for map": {
			in: `{"dir": "/d", "labels": [1]}`, wantPath: []string{"labels"}, wantText: "want a map of a string",
		},
		"wrong type: string for float": {
			in: `{"dir": "/d", "ratio": "x"}`, wantPath: []string{"ratio"}, wantText: "want a number",
		},
		"wrong type in a block list": {
			in:       `{"dir": "/d", "server": [{"url": "a"}, {"url": 5}]}`,
			wantPath: []string{"server", "1", "url"}, wantText: "want a string",
		},
		"block that is not an object": {
			in: `{"dir": "/d", "limits": 3}`, wantPath: []string{"limits"}, wantText: "want a block",
		},
		"optional block that is not an object": {
			in: `{"dir": "/d", "tls": "x"}`, wantPath: []string{"tls"}, wantText: "want a block",
		},
		"block list that is not a list": {
			in: `{"dir": "/d", "server": {"url": "a"}}`, wantPath: []string{"server"}, wantText: "want a list of blocks",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := schema.Decode([]byte(tc.in), defaults())
			var pe *schema.PathError
			if !errors.As(err, &pe) {
				t.Fatalf("want a *schema.PathError, got %T %v", err, err)
			}
			if !slices.Equal(pe.Path, tc.wantPath) {
				t.Errorf("want path %q, got %q", tc.wantPath, pe.Path)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("want the error to contain %q, got %q", tc.wantText, err)
			}
		})
	}
}

func TestDecodeNeedsStructPointer(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		target any
	}{
		"struct value":   {target: decodeConfig{}},
		"int pointer":    {target: new(int)},
		"nil":            {target: nil},
		"pointer to map": {target: &map[string]any{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := schema.Decode([]byte(`{}`), tc.target); !errors.Is(err, schema.ErrUnsupportedType) {
				t.Errorf("want schema.ErrUnsupportedType, got %v", err)
			}
		})
	}
}

func TestPathErrorMessage(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		err  *schema.PathError
		want string
	}{
		"top level": {err: &schema.PathError{Err: errors.New("boom")}, want: "config: boom"},
		"nested":    {err: &schema.PathError{Path: []string{"server", "1", "url"}, Err: errors.New("boom")}, want: "server.1.url: boom"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("want %q, got %q", tc.want, got)
			}
		})
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in *decodeConfig
	}{
		"defaults": {in: func() *decodeConfig { c := defaults(); c.Dir = "/d"; return c }()},
		"everything set": {in: &decodeConfig{
			Dir: "/d", Name: "n", Port: -3, Small: 200, Ratio: 1e-9, Debug: true,
			Tags: []string{"x", "y", "${not_a_template}"}, Labels: map[string]string{"a": "b", "": "empty"},
			Limits: limits{Max: 1, Burst: 2}, TLS: &tlsBlock{Cert: "c", Insecure: true},
			Servers: []server{{URL: "u1"}, {URL: "u2", Weight: 9}},
		}},
		"zero values override defaults": {in: &decodeConfig{
			Dir: "/d", Tags: []string{}, Labels: map[string]string{}, Servers: []server{},
		}},
		"nil list and map mean empty": {in: &decodeConfig{Dir: "/d"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := schema.Encode(tc.in)
			if err != nil {
				t.Fatalf("Encode: want no error, got %v", err)
			}
			got := defaults()
			if err := schema.Decode(data, got); err != nil {
				t.Fatalf("Decode(%s): want no error, got %v", data, err)
			}
			if !equalConfig(got, tc.in) {
				t.Errorf("want %+v, got %+v (JSON %s)", tc.in, got, data)
			}
		})
	}
}

// equalConfig is reflect.DeepEqual except that a nil list or map equals an
// empty one: JSON cannot tell them apart.
func equalConfig(a, b *decodeConfig) bool {
	norm := func(c decodeConfig) decodeConfig {
		if c.Tags == nil {
			c.Tags = []string{}
		}
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		if c.Servers == nil {
			c.Servers = []server{}
		}
		return c
	}
	return reflect.DeepEqual(norm(*a), norm(*b))
}

func TestEncode(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in      any
		want    string
		wantErr error
	}{
		"nil pointer":      {in: (*decodeConfig)(nil), want: `{}`},
		"struct value":     {in: limits{Max: 1}, want: `{"burst":0,"max":1}`},
		"untagged skipped": {in: &optionalAndRequired{Dir: "d", Tags: []string{"x"}}, want: `{"dir":"d","max":0}`},
		"absent optional block omitted": {
			in: &blocks{Limits: limits{Max: 1}}, want: `{"limits":{"burst":0,"max":1},"server":[]}`,
		},
		"not a struct": {in: 42, wantErr: schema.ErrUnsupportedType},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := schema.Encode(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("want error %v, got %v", tc.wantErr, err)
			}
			if tc.wantErr == nil && string(got) != tc.want {
				t.Errorf("want %s, got %s", tc.want, got)
			}
		})
	}
}
