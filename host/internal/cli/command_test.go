package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/home"
)

// updateGolden rewrites testdata/json/*.json from what the commands print.
var updateGolden = flag.Bool("update", false, "rewrite the golden JSON shapes in testdata/json")

// nodeWait bounds every wait for the in-process node on a loaded machine.
const nodeWait = time.Minute

// unknownNode is a well-formed node_id no test node knows.
const unknownNode = "dpc-node-0123456789abcdef0123456789abcdef"

// startNode runs `dpc init` then `dpc run` in-process on a fresh data
// directory with testdata/dpc.hcl (no plugins), and returns the directory
// once the node answers on its API socket. The node stops when the test
// ends.
func startNode(t *testing.T) home.Dir {
	t.Helper()
	d := home.Dir(filepath.Join(t.TempDir(), "home"))
	if _, err := run(t, "--home", d.String(), "init", "--name", "Gopher"); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join("testdata", "dpc.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.Config(), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := NewRoot()
		root.SetArgs([]string{"--home", d.String(), "--log-level", "error", "run"})
		root.SetOut(&bytes.Buffer{})
		root.SetErr(&bytes.Buffer{})
		done <- root.ExecuteContext(ctx)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("dpc run: %v", err)
			}
		case <-time.After(nodeWait):
			t.Error("dpc run did not stop")
		}
	})
	// The node binds its socket before it is ready to answer: wait for
	// an answer, not for the socket file.
	deadline := time.Now().Add(nodeWait)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := api.Dial(d.APISocket(), d.APIToken())
		if err == nil {
			actx, cancel := context.WithTimeout(ctx, nodeWait)
			err = c.Get(actx, "/v1/node", &api.NodeInfo{})
			cancel()
			if err == nil {
				return d
			}
		}
		select {
		case err := <-done:
			t.Fatalf("dpc run returned before the node answered: %v", err)
		case <-tick.C:
			if time.Now().After(deadline) {
				t.Fatalf("the node never answered on %s: %v", d.APISocket(), err)
			}
		}
	}
}

// shape replaces every value of a decoded JSON document by its type, and
// an array by the shape of its first element, so that a golden file holds
// what a script may rely on and nothing that changes from run to run.
func shape(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = shape(e)
		}
		return out
	case []any:
		if len(v) == 0 {
			return []any{}
		}
		return []any{shape(v[0])}
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return "?"
}

// TestJSONOutputShapes: what --json prints, against the shapes in
// testdata/json (go test -run TestJSONOutputShapes -update rewrites them).
// Empty lists print as [] and never as null.
func TestJSONOutputShapes(t *testing.T) {
	t.Parallel()
	d := startNode(t)
	tests := map[string]struct {
		args    []string
		wantErr error // the command's own error, printed after the JSON
	}{
		"id":             {args: []string{"id", "--json"}},
		"peers":          {args: []string{"peers", "--json"}},
		"transfers":      {args: []string{"transfers", "--json"}},
		"models":         {args: []string{"models", "--json"}},
		"plugin status":  {args: []string{"plugin", "status", "--json"}},
		"history":        {args: []string{"history", unknownNode, "--json"}},
		"firewall check": {args: []string{"firewall", "check", unknownNode, "messages", "--json"}, wantErr: errDenied},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := run(t, append([]string{"--home", d.String()}, tc.args...)...)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("dpc %s: %v, want %v", strings.Join(tc.args, " "), err, tc.wantErr)
			}
			var doc any
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("not one JSON document: %v\n%s", err, out)
			}
			got, err := json.MarshalIndent(shape(doc), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "json", strings.ReplaceAll(name, " ", "-")+".json")
			if *updateGolden {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("dpc %s: shape\n%s\nwant (%s)\n%s", strings.Join(tc.args, " "), got, golden, want)
			}
		})
	}
}

// TestPeerArgumentsResolvedByTheNode: a NODE_ID argument is resolved
// against the running node's peers before anything is sent: a name or
// prefix no peer has, and a malformed node_id, are refused with what to
// do, whatever the command.
func TestPeerArgumentsResolvedByTheNode(t *testing.T) {
	t.Parallel()
	d := startNode(t)
	tests := map[string]struct {
		args     []string
		wantErr  error
		wantText string
	}{
		"send to an unknown name":             {args: []string{"send", "nobody", "hi"}, wantErr: ErrNoSuchPeer, wantText: "dpc peers"},
		"history of an unknown prefix":        {args: []string{"history", "abc123"}, wantErr: ErrNoSuchPeer},
		"history of a malformed node_id":      {args: []string{"history", "dpc-node-XYZ"}, wantErr: ErrInvalidNodeID, wantText: "32 hex digits"},
		"firewall check of an unknown name":   {args: []string{"firewall", "check", "nobody", "messages"}, wantErr: ErrNoSuchPeer},
		"send-file to an unknown name":        {args: []string{"send-file", "nobody", filepath.Join("testdata", "dpc.hcl")}, wantErr: ErrNoSuchPeer},
		"remove of an empty peer":             {args: []string{"peers", "remove", ""}, wantErr: ErrNoSuchPeer, wantText: "empty"},
		"ask --peer with a malformed node_id": {args: []string{"ask", "--peer", "dpc-node-XYZ", "what?"}, wantErr: ErrInvalidNodeID},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := run(t, append([]string{"--home", d.String()}, tc.args...)...)
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("dpc %s: %v, want %v mentioning %q", strings.Join(tc.args, " "), err, tc.wantErr, tc.wantText)
			}
		})
	}
	// A full node_id is taken as it is, even of a node never met.
	if out, err := run(t, "--home", d.String(), "history", unknownNode, "--json"); err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("history of a node never met: %q, %v; want [] and no error", out, err)
	}
}

// TestArgumentValidation: wrong arguments and flag values are refused
// before anything runs, with the usage or the accepted values.
func TestArgumentValidation(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "home")
	tests := map[string]struct {
		args []string
		want []string
	}{
		"init with an unknown key type":  {args: []string{"init", "--key", "dsa"}, want: []string{`--key "dsa"`, "ed25519 or rsa"}},
		"init with an argument":          {args: []string{"init", "extra"}, want: []string{"usage: dpc init"}},
		"id with an argument":            {args: []string{"id", "extra"}, want: []string{"usage: dpc id"}},
		"run with an argument":           {args: []string{"run", "extra"}, want: []string{"usage: dpc run"}},
		"connect without an address":     {args: []string{"connect"}, want: []string{"usage: dpc connect dpc://HOST:PORT?node_id=ID"}},
		"send-file without a path":       {args: []string{"send-file", "bob"}, want: []string{"usage: dpc send-file NODE_ID PATH"}},
		"transfers accept without an id": {args: []string{"transfers", "accept"}, want: []string{"usage: dpc transfers accept ID"}},
		"peers accept without a peer":    {args: []string{"peers", "accept"}, want: []string{"usage: dpc peers accept NODE_ID"}},
		"peers remove with two peers":    {args: []string{"peers", "remove", "a", "b"}, want: []string{"usage: dpc peers remove NODE_ID"}},
		"chat without a peer":            {args: []string{"chat"}, want: []string{"usage: dpc chat NODE_ID"}},
		"context set without a value":    {args: []string{"context", "set", "profile.name"}, want: []string{"usage: dpc context set PATH VALUE"}},
		"models with an argument":        {args: []string{"models", "extra"}, want: []string{"usage: dpc models"}},
		"an unknown command":             {args: []string{"sned"}, want: []string{`unknown command "sned"`}},
		"a flag of another command":      {args: []string{"send", "--json", "bob", "hi"}, want: []string{"unknown flag: --json", "usage: dpc send NODE_ID TEXT"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := run(t, append([]string{"--home", home}, tc.args...)...)
			if err == nil || !containsAll(err.Error(), tc.want...) {
				t.Errorf("dpc %s: %v, want an error with %q", strings.Join(tc.args, " "), err, tc.want)
			}
			if _, serr := os.Stat(home); serr == nil {
				t.Errorf("a refused command created %s", home)
			}
		})
	}
}

// TestInitNeverOverwrites: a second init on the same directory is refused
// and leaves the identity and the files the first one wrote as they were.
func TestInitNeverOverwrites(t *testing.T) {
	t.Parallel()
	d := home.Dir(filepath.Join(t.TempDir(), "home"))
	if _, err := run(t, "--home", d.String(), "init", "--name", "First"); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, p := range []string{d.Config(), d.Firewall(), d.Personal(), filepath.Join(d.Identity(), "node.key")} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		before[p] = b
	}
	_, err := run(t, "--home", d.String(), "init", "--name", "Second", "--key", "rsa")
	if err == nil || !containsAll(err.Error(), "already has an identity", "dpc --home "+d.String()+" id") {
		t.Errorf("second init: %v, want a refusal pointing at dpc id", err)
	}
	paths := make([]string, 0, len(before))
	for p := range before {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, before[p]) {
			t.Errorf("%s changed by the second init (%v)", p, err)
		}
	}
}
