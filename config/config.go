package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// Node is the `node { … }` block: how this node presents itself to peers.
type Node struct {
	// Name is the display name shown to peers; it is not the node's
	// identity (that is the node key). Default "".
	Name string `koanf:"name"`
	// Listen lists the host:port addresses peers connect to. An empty host
	// means all interfaces. Default ["0.0.0.0:8888", "[::]:8888"].
	Listen []string `koanf:"listen"`
	// DPCv1 lets D-PC Messenger v1 (Python) nodes connect and be dialed,
	// through D-PC's own, weaker handshake (it needs an RSA identity:
	// dpc init --key rsa). Default false: every peer that does not
	// negotiate dptp/1 is refused. When true, this node dials v1 only to
	// peers the user marked (dpc connect --v1).
	DPCv1 bool `koanf:"dpc_v1"`
}

// API is the `api { … }` block: the local HTTP API and web UI.
type API struct {
	// Listen is a loopback IP:port (127.0.0.0/8 or [::1]); anything else is
	// an error, because the API must not be reachable from other machines.
	// Default "127.0.0.1:9999".
	Listen string `koanf:"listen"`
}

// Plugin is one `plugin "<kind>" "<name>" { … }` block.
type Plugin struct {
	// Kind is the first label: transport, llm, backup or hub.
	Kind string
	// Name is the second label, unique across kinds; the binary is
	// dpc-plugin-<name>.
	Name string
	// Enabled is the optional `enabled` attribute, default true.
	Enabled bool
	// Config is the body of the inner `config { … }` block, nil when absent.
	// It is checked against the plugin's schema by ValidatePluginConfig.
	Config hcl.Body
	// ConfigRange is the range of the `config` block header, zero when absent.
	ConfigRange hcl.Range
	// DeclRange is the range of the plugin block header, for messages.
	DeclRange hcl.Range
}

// ID returns "<kind>/<name>", the way the host names a plugin in messages
// and signals.
func (p Plugin) ID() string { return p.Kind + "/" + p.Name }

// Config is the loaded configuration.
type Config struct {
	// Path is the dpc.hcl that was read (it may not exist).
	Path string
	// Node and API hold the layered values (defaults → file → env → flags).
	Node Node
	API  API
	// Plugins lists the plugin blocks of the file, in file order.
	Plugins []Plugin
	// Profile is the profile block: what a hub login publishes.
	Profile Profile

	ctx *hcl.EvalContext
}

// EvalContext returns the context Load evaluated the file in (variables
// from LoadOptions.Vars and the env function); pass it to
// ValidatePluginConfig so plugin config sees the same names.
func (c *Config) EvalContext() *hcl.EvalContext { return c.ctx }

// LoadOptions says where Load finds its inputs.
type LoadOptions struct {
	// Path of dpc.hcl. A missing file (or an empty Path) means defaults only.
	Path string
	// Env is os.Environ()-style input; nil means no environment.
	// DPC_NODE_NAME, DPC_NODE_LISTEN (comma separated) and DPC_API_LISTEN
	// override the file; empty values and other variables are ignored.
	// All variables are visible to env("NAME") in the file.
	Env []string
	// Flags, when set, override the environment. Only flags named in
	// FlagKeys that were Changed apply.
	Flags *pflag.FlagSet
	// FlagKeys maps a flag name to a config key, e.g. {"api": "api.listen"}.
	// Keys are node.name, node.listen and api.listen.
	FlagKeys map[string]string
	// Vars are variables available to expressions, e.g. {"home": "/home/x/.dpc"}.
	Vars map[string]string
}

// Config keys that env and flags may set.
const (
	keyNodeName   = "node.name"
	keyNodeDPCv1  = "node.dpc_v1"
	keyNodeListen = "node.listen"
	keyAPIListen  = "api.listen"
)

// flagKeys are the config keys LoadOptions.FlagKeys may name.
var flagKeys = []string{keyNodeName, keyNodeListen, keyAPIListen}

// envKeys maps the DPC_* variables Load honours to config keys.
var envKeys = map[string]string{
	"DPC_NODE_NAME":   keyNodeName,
	"DPC_NODE_LISTEN": keyNodeListen,
	"DPC_API_LISTEN":  keyAPIListen,
}

// layered is the part of Config that koanf layers.
type layered struct {
	Node Node `koanf:"node"`
	API  API  `koanf:"api"`
}

func defaults() layered {
	return layered{
		Node: Node{Listen: []string{"0.0.0.0:8888", "[::]:8888"}},
		API:  API{Listen: "127.0.0.1:9999"},
	}
}

// Load reads the configuration described by opts. Problems in the file, the
// environment or the flags are all reported together in one *Error wrapping
// ErrInvalidConfig.
func Load(opts LoadOptions) (*Config, error) {
	var src []byte
	if opts.Path != "" {
		b, err := os.ReadFile(opts.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// No file yet: defaults only, so `dpc run` works before `dpc init`.
		case err != nil:
			return nil, fmt.Errorf("config: %w", err)
		default:
			src = b
		}
	}
	return load(src, opts)
}

// load is Load without the file system; src nil means no file.
func load(src []byte, opts LoadOptions) (*Config, error) {
	ctx := newEvalContext(opts.Vars, environMap(opts.Env))
	var (
		diags   hcl.Diagnostics
		fileMap = map[string]any{}
		plugins []Plugin
		profile Profile
	)
	if src != nil {
		fileMap, plugins, profile, diags = parseFile(src, opts.Path, ctx)
	}

	k := koanf.New(".")
	// Providers report problems through diags: koanf callbacks cannot fail.
	providers := []koanf.Provider{
		structs.Provider(defaults(), "koanf"),
		confmap.Provider(fileMap, "."),
		env.Provider(".", env.Opt{
			Prefix:        "DPC_",
			EnvironFunc:   func() []string { return opts.Env },
			TransformFunc: func(name, v string) (string, any) { return overlay(&diags, name, envKeys[name], v) },
		}),
	}
	if opts.Flags != nil {
		diags = append(diags, checkFlagKeys(opts.Flags, opts.FlagKeys)...)
		providers = append(providers, posflag.ProviderWithFlag(opts.Flags, ".", nil, func(f *pflag.Flag) (string, any) {
			key, ok := opts.FlagKeys[f.Name]
			if !ok || !f.Changed || !slices.Contains(flagKeys, key) {
				return "", nil
			}
			v := f.Value.String()
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				v = strings.Join(sv.GetSlice(), ",")
			}
			return overlay(&diags, "flag --"+f.Name, key, v)
		}))
	}
	for _, p := range providers {
		if err := k.Load(p, nil); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	if err := NewError(ErrInvalidConfig, diags); err != nil {
		return nil, err
	}
	var l layered
	if err := k.UnmarshalWithConf("", &l, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &Config{Path: opts.Path, Node: l.Node, API: l.API, Plugins: plugins, Profile: profile, ctx: ctx}, nil
}

// overlay checks one env or flag value v for key and returns the koanf
// key/value, or "" (skip) after recording a problem named after source.
func overlay(diags *hcl.Diagnostics, source, key, v string) (string, any) {
	if key == "" || v == "" {
		return "", nil
	}
	var (
		val      any = v
		problems []string
	)
	switch key {
	case keyNodeListen:
		var list []string
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
				problems = appendProblem(problems, listenProblem(s))
			}
		}
		val = list
	case keyAPIListen:
		problems = appendProblem(problems, apiListenProblem(v))
	}
	for _, p := range problems {
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: source, Detail: p})
	}
	if len(problems) > 0 {
		return "", nil
	}
	return key, val
}

func appendProblem(list []string, p string) []string {
	if p == "" {
		return list
	}
	return append(list, p)
}

// checkFlagKeys reports FlagKeys entries that cannot work: a programming
// error in the caller, but cheap to catch here.
func checkFlagKeys(flags *pflag.FlagSet, keys map[string]string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(keys)) {
		switch {
		case flags.Lookup(name) == nil:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "flag --" + name,
				Detail: "FlagKeys names a flag that is not defined"})
		case !slices.Contains(flagKeys, keys[name]):
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "flag --" + name,
				Detail: fmt.Sprintf("maps to unknown config key %q; want one of %s", keys[name], strings.Join(flagKeys, ", "))})
		}
	}
	return diags
}
