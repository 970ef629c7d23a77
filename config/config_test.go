package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// testOpts are the options every golden file is loaded with.
func testOpts(path string) LoadOptions {
	return LoadOptions{
		Path: path,
		Env:  []string{"DPC_HOME=/home/test/.dpc", "USER_NAME=alice"},
		Vars: map[string]string{"home": "/home/test/.dpc"},
	}
}

// TestLoadGolden loads each testdata/load/*.hcl and compares the error text,
// or a rendering of the config, with the .golden file next to it.
func TestLoadGolden(t *testing.T) {
	t.Parallel()
	inputs, err := filepath.Glob("testdata/load/*.hcl")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("want testdata/load/*.hcl, got %v (err %v)", inputs, err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".hcl")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(testOpts(in))
			wantOK := strings.HasPrefix(name, "ok_")
			if got := err == nil; got != wantOK {
				t.Fatalf("want success %v, got error %v", wantOK, err)
			}
			var out string
			if err != nil {
				var cerr *Error
				if !errors.Is(err, ErrInvalidConfig) || !errors.As(err, &cerr) {
					t.Errorf("want an *Error wrapping ErrInvalidConfig, got %T %v", err, err)
				}
				out = err.Error() + "\n"
			} else {
				out = render(c)
			}
			golden(t, strings.TrimSuffix(in, ".hcl")+".golden", out)
		})
	}
}

// render prints a loaded config for golden files.
func render(c *Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "node.name   = %q\nnode.listen = %q\napi.listen  = %q\n", c.Node.Name, c.Node.Listen, c.API.Listen)
	for _, p := range c.Plugins {
		cfg := "none"
		if p.Config != nil {
			cfg = Pos(p.ConfigRange)
		}
		fmt.Fprintf(&b, "plugin %s enabled=%v at %s config=%s\n", p.ID(), p.Enabled, Pos(p.DeclRange), cfg)
	}
	if pr := c.Profile; pr.Name != "" || pr.Description != "" || pr.Expertise != nil || pr.PublishURIs {
		fmt.Fprintf(&b, "profile     = name %q description %q expertise %v publish_uris %v\n", pr.Name, pr.Description, pr.Expertise, pr.PublishURIs)
	}
	return b.String()
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ path string }{
		"no path":      {path: ""},
		"missing file": {path: filepath.Join(t.TempDir(), "dpc.hcl")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(LoadOptions{Path: tc.path})
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			want := defaults()
			if c.Node.Name != want.Node.Name || !slices.Equal(c.Node.Listen, want.Node.Listen) || c.API != want.API {
				t.Errorf("want defaults %+v, got node %+v api %+v", want, c.Node, c.API)
			}
			if len(c.Plugins) != 0 {
				t.Errorf("want no plugins, got %v", c.Plugins)
			}
		})
	}
}

func TestLoadUnreadableFile(t *testing.T) {
	t.Parallel()
	// A directory cannot be read as a file: an I/O error, not "defaults".
	_, err := Load(LoadOptions{Path: t.TempDir()})
	if err == nil || errors.Is(err, ErrInvalidConfig) {
		t.Errorf("want an I/O error, got %v", err)
	}
}

const layeringFile = `
node {
  name   = "file-name"
  listen = ["10.0.0.1:1"]
}
api {
  listen = "127.0.0.2:2"
}
`

// newFlags returns the flag set the layering tests parse args with.
func newFlags(t *testing.T, args ...string) (*pflag.FlagSet, map[string]string) {
	t.Helper()
	fs := pflag.NewFlagSet("dpc", pflag.ContinueOnError)
	fs.String("name", "flag-default", "")
	fs.String("api", "127.0.0.1:1", "")
	fs.StringSlice("listen", nil, "")
	fs.String("unmapped", "", "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs, map[string]string{"name": keyNodeName, "api": keyAPIListen, "listen": keyNodeListen}
}

func TestLoadLayering(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		file       string // "" for no file
		env        []string
		args       []string
		wantName   string
		wantListen []string
		wantAPI    string
	}{
		"defaults": {
			wantListen: []string{"0.0.0.0:8888", "[::]:8888"}, wantAPI: "127.0.0.1:9999",
		},
		"file over defaults": {
			file: layeringFile, wantName: "file-name", wantListen: []string{"10.0.0.1:1"}, wantAPI: "127.0.0.2:2",
		},
		"file sets only some keys": {
			file: `node { name = "n" }`, wantName: "n", wantListen: []string{"0.0.0.0:8888", "[::]:8888"}, wantAPI: "127.0.0.1:9999",
		},
		"env over file": {
			file:       layeringFile,
			env:        []string{"DPC_NODE_NAME=env-name", "DPC_NODE_LISTEN=10.0.0.3:3, [::1]:4", "DPC_API_LISTEN=[::1]:5"},
			wantName:   "env-name",
			wantListen: []string{"10.0.0.3:3", "[::1]:4"},
			wantAPI:    "[::1]:5",
		},
		"env over defaults": {
			env:        []string{"DPC_API_LISTEN=127.0.0.9:9"},
			wantListen: []string{"0.0.0.0:8888", "[::]:8888"}, wantAPI: "127.0.0.9:9",
		},
		"empty and unrelated env ignored": {
			file:       layeringFile,
			env:        []string{"DPC_NODE_NAME=", "DPC_HOME=/x", "DPC_NODE=x", "NODE_NAME=x", "DPC_API_LISTEN"},
			wantName:   "file-name",
			wantListen: []string{"10.0.0.1:1"}, wantAPI: "127.0.0.2:2",
		},
		"later env entry wins": {
			env:        []string{"DPC_NODE_NAME=first", "DPC_NODE_NAME=second"},
			wantName:   "second",
			wantListen: []string{"0.0.0.0:8888", "[::]:8888"}, wantAPI: "127.0.0.1:9999",
		},
		"flags over env": {
			file:       layeringFile,
			env:        []string{"DPC_NODE_NAME=env-name", "DPC_NODE_LISTEN=10.0.0.3:3", "DPC_API_LISTEN=[::1]:5"},
			args:       []string{"--name=flag-name", "--listen=10.0.0.4:4,10.0.0.5:5", "--api=127.0.0.1:6"},
			wantName:   "flag-name",
			wantListen: []string{"10.0.0.4:4", "10.0.0.5:5"},
			wantAPI:    "127.0.0.1:6",
		},
		"unchanged flags do not apply": {
			file:       layeringFile,
			env:        []string{"DPC_API_LISTEN=[::1]:5"},
			args:       []string{"--unmapped=x"},
			wantName:   "file-name",
			wantListen: []string{"10.0.0.1:1"}, wantAPI: "[::1]:5",
		},
		"repeated slice flag": {
			args:       []string{"--listen=10.0.0.4:4", "--listen=10.0.0.5:5"},
			wantListen: []string{"10.0.0.4:4", "10.0.0.5:5"}, wantAPI: "127.0.0.1:9999",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			opts := LoadOptions{Env: tc.env}
			if tc.file != "" {
				opts.Path = writeFile(t, "dpc.hcl", tc.file)
			}
			opts.Flags, opts.FlagKeys = newFlags(t, tc.args...)
			c, err := Load(opts)
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			if c.Node.Name != tc.wantName {
				t.Errorf("node.name: want %q, got %q", tc.wantName, c.Node.Name)
			}
			if !slices.Equal(c.Node.Listen, tc.wantListen) {
				t.Errorf("node.listen: want %q, got %q", tc.wantListen, c.Node.Listen)
			}
			if c.API.Listen != tc.wantAPI {
				t.Errorf("api.listen: want %q, got %q", tc.wantAPI, c.API.Listen)
			}
		})
	}
}

func TestLoadEnvAndFlagErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		file     string
		env      []string
		args     []string
		flagKeys map[string]string // nil: the usual mapping
		want     string
	}{
		"env api not loopback": {
			env:  []string{"DPC_API_LISTEN=0.0.0.0:1"},
			want: `DPC_API_LISTEN: "0.0.0.0:1" is not a loopback address; the API must listen on 127.0.0.0/8 or [::1], for example "127.0.0.1:9999"`,
		},
		"env node listen not host:port": {
			env: []string{"DPC_NODE_LISTEN=0.0.0.0:1,8888,:x"},
			want: `DPC_NODE_LISTEN: "8888" is not a host:port address; want for example "0.0.0.0:8888" or "[::]:8888"` + "\n" +
				`DPC_NODE_LISTEN: ":x" has an invalid port "x"; want a number from 0 to 65535`,
		},
		"flag api not loopback": {
			args: []string{"--api=192.168.1.1:9999"},
			want: `flag --api: "192.168.1.1:9999" is not a loopback address; the API must listen on 127.0.0.0/8 or [::1], for example "127.0.0.1:9999"`,
		},
		"flag listen invalid": {
			args: []string{"--listen=nope"},
			want: `flag --listen: "nope" is not a host:port address; want for example "0.0.0.0:8888" or "[::]:8888"`,
		},
		"flag keys name unknown key and flag": {
			flagKeys: map[string]string{"name": "node.nmae", "missing": keyNodeName},
			want: `flag --missing: FlagKeys names a flag that is not defined` + "\n" +
				`flag --name: maps to unknown config key "node.nmae"; want one of node.name, node.listen, api.listen`,
		},
		"file, env and flag problems together": {
			file: "api {\n  listen = \"8.8.8.8:53\"\n}\n",
			env:  []string{"DPC_API_LISTEN=localhost:1"},
			args: []string{"--api=::1"},
			want: `dpc.hcl:2:12: Invalid listen address: "8.8.8.8:53" is not a loopback address; the API must listen on 127.0.0.0/8 or [::1], for example "127.0.0.1:9999".` + "\n" +
				`DPC_API_LISTEN: "localhost:1" is not a loopback address; the API must listen on 127.0.0.0/8 or [::1], for example "127.0.0.1:9999"` + "\n" +
				`flag --api: "::1" is not an IP:port address; want a loopback address such as "127.0.0.1:9999"`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			opts := LoadOptions{Env: tc.env}
			if tc.file != "" {
				// A relative path keeps the temporary directory out of the message.
				dir := t.TempDir()
				mustWrite(t, filepath.Join(dir, "dpc.hcl"), tc.file)
				opts.Path = filepath.Join(dir, "dpc.hcl")
			}
			opts.Flags, opts.FlagKeys = newFlags(t, tc.args...)
			if tc.flagKeys != nil {
				opts.FlagKeys = tc.flagKeys
			}
			_, err := Load(opts)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("want ErrInvalidConfig, got %v", err)
			}
			got := strings.ReplaceAll(err.Error(), filepath.Dir(opts.Path)+string(filepath.Separator), "")
			if got != tc.want {
				t.Errorf("want\n%s\ngot\n%s", tc.want, got)
			}
		})
	}
}

func TestEvalContext(t *testing.T) {
	t.Parallel()
	c, err := Load(LoadOptions{
		Path: writeFile(t, "dpc.hcl", `node { name = "${home}:${env("K")}:${env("UNSET")}" }`),
		Env:  []string{"K=v=w"},
		Vars: map[string]string{"home": "/h"},
	})
	if err != nil {
		t.Fatalf("want no error, got %v", err)
	}
	if want := "/h:v=w:"; c.Node.Name != want {
		t.Errorf("want name %q, got %q", want, c.Node.Name)
	}
	ctx := c.EvalContext()
	if ctx == nil || ctx.Variables["home"].AsString() != "/h" || ctx.Functions["env"].Params() == nil {
		t.Errorf("want the context Load used, got %+v", ctx)
	}
}

func TestDPCv1Setting(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		file    string
		want    bool
		wantErr string
	}{
		"off by default": {file: `node { name = "a" }`, want: false},
		"switched off":   {file: `node { dpc_v1 = false }`, want: false},
		"switched on":    {file: `node { dpc_v1 = true }`, want: true},
		"not a bool":     {file: `node { dpc_v1 = "maybe" }`, wantErr: `dpc.hcl:1:17: Incorrect attribute value type`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(LoadOptions{Path: writeFile(t, "dpc.hcl", tc.file)})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error with %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Node.DPCv1 != tc.want {
				t.Errorf("want dpc_v1 %v, got %v", tc.want, c.Node.DPCv1)
			}
		})
	}
}
