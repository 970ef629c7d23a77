package e2e

// The CLI as people use it, through the real binary: names where node_ids
// go, shell completion, --json, a firewall check that never misleads, and
// the log lines of a running node.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/plugins"
)

// bobFirewall lets contacts send messages and files but shares no chat
// history: alice's history request is refused, as it should be.
const bobFirewall = `rule "group" "contacts" {
  allow = ["messages", "files"]
}
`

// decodeJSON parses a command's --json output into v.
func decodeJSON(t *testing.T, what, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%s: want JSON, got %v:\n%s", what, err, out)
	}
}

// waitLog waits until the daemon's log has a line containing every part.
func waitLog(t *testing.T, d *daemon, timeout time.Duration, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(d.stderr.String(), "\n") {
			if containsAll(line, parts...) {
				return line
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for a log line with %q; log:\n%s", parts, d.stderr)
	return ""
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func TestCLIUsability(t *testing.T) {
	t.Parallel()
	a := newPeerWith(t, "alice", "plugin \"llm\" \"llm-local\" {}\n")
	b := newPeer(t, "bob")
	if err := os.WriteFile(filepath.Join(b.home, "firewall.hcl"), []byte(bobFirewall), 0o600); err != nil {
		t.Fatal(err)
	}
	// carol is never running: a contact of alice's that stays offline.
	c := newPeer(t, "carol")
	a.run()
	b.run()
	a.waitStatus(a.d, "llm/llm-local", 60*time.Second, "llm-local running", func(s plugins.Status) bool { return s.State == "running" })
	contacts(t, a, b)
	a.must("connect", c.uri())

	t.Run("a contact's name stands for its node_id", func(t *testing.T) {
		a.must("send", "Bob", "hi by name")
		if out := a.must("history", "bob"); !strings.Contains(out, "> hi by name") {
			t.Errorf("history bob: want the message, got:\n%s", out)
		}
	})
	t.Run("a unique node_id prefix stands for the node_id, with or without dpc-node-", func(t *testing.T) {
		for _, prefix := range []string{b.id[:len("dpc-node-")+6], b.id[len("dpc-node-") : len("dpc-node-")+6]} {
			if out := a.must("history", prefix); !strings.Contains(out, "> hi by name") {
				t.Errorf("history %s: want the message, got:\n%s", prefix, out)
			}
		}
	})
	t.Run("an ambiguous prefix is an error listing the candidates", func(t *testing.T) {
		_, errs, code := a.dpc("history", "dpc-node-")
		if code == 0 || !containsAll(errs, "matches 2 peers", b.id, "bob", c.id) {
			t.Errorf("want an error listing bob and carol, got exit %d: %s", code, errs)
		}
	})
	t.Run("an unknown name says what to do", func(t *testing.T) {
		_, errs, code := a.dpc("send", "nobody", "x")
		if code == 0 || !containsAll(errs, `"nobody"`, "no known peer", "dpc peers") {
			t.Errorf("want an error naming the unknown peer, got exit %d: %s", code, errs)
		}
	})
	t.Run("a malformed node_id says so in words, not as an API query", func(t *testing.T) {
		_, errs, code := a.dpc("firewall", "check", "dpc-node-xyz", "messages")
		if code == 0 || !strings.Contains(errs, "32 hex digits") || strings.Contains(errs, "?node=") {
			t.Errorf("want a plain explanation of a node_id, got exit %d: %s", code, errs)
		}
	})
	t.Run("shell completion offers the contacts", func(t *testing.T) {
		for _, args := range [][]string{{"__complete", "send", ""}, {"__complete", "ask", "--peer", ""}, {"__complete", "history", "b"}} {
			if out := a.must(args...); !containsAll(out, b.id, "bob") {
				t.Errorf("%v: want bob's node_id and name, got:\n%s", args, out)
			}
		}
		if out := a.must("__complete", "firewall", "check", "bob", ""); !containsAll(out, "messages", "context:") {
			t.Errorf("firewall check RESOURCE: want the resources, got:\n%s", out)
		}
		if out := a.must("completion", "bash"); !strings.Contains(out, "__start_dpc") {
			t.Errorf("completion bash: want a bash completion script, got:\n%.300s", out)
		}
	})
	t.Run("a node's own check of a request is not worded as a refusal", func(t *testing.T) {
		_, errs, code := a.dpc("send-file", "bob", filepath.Join(t.TempDir(), "missing.txt"))
		if code == 0 || strings.Contains(errs, "refused") {
			t.Errorf("want the node's own error without \"refused\", got exit %d: %s", code, errs)
		}
	})
	t.Run("no progress bar when stderr is not a terminal", func(t *testing.T) {
		out, errs, code := a.dpc("send-file", "bob", writeRandomFile(t, 200_000))
		if code != 0 || !strings.Contains(out, "delivered") || errs != "" {
			t.Errorf("want a delivery and nothing on stderr, got exit %d\nstdout: %s\nstderr: %q", code, out, errs)
		}
	})

	t.Run("--json", func(t *testing.T) {
		var id struct {
			NodeID    string   `json:"node_id"`
			Name      string   `json:"name"`
			Running   bool     `json:"running"`
			Addresses []string `json:"addresses"`
		}
		decodeJSON(t, "id", a.must("id", "--json"), &id)
		if id.NodeID != a.id || id.Name != "alice" || !id.Running || !slices.Contains(id.Addresses, a.uri()) {
			t.Errorf("id --json: got %+v", id)
		}
		var pl struct {
			Peers []struct {
				NodeID string `json:"node_id"`
				Name   string `json:"name"`
			} `json:"peers"`
			Refusals []any `json:"refusals"`
		}
		decodeJSON(t, "peers", a.must("peers", "--json"), &pl)
		if len(pl.Peers) != 2 || pl.Refusals == nil {
			t.Errorf("peers --json: want bob and carol and a refusals list, got %+v", pl)
		}
		var msgs []struct {
			Text string `json:"text"`
		}
		decodeJSON(t, "history", a.must("history", "bob", "--json"), &msgs)
		if len(msgs) != 1 || msgs[0].Text != "hi by name" {
			t.Errorf("history --json: got %+v", msgs)
		}
		var xfers []struct {
			State string `json:"state"`
		}
		decodeJSON(t, "transfers", a.must("transfers", "--json"), &xfers)
		if len(xfers) != 1 {
			t.Errorf("transfers --json: want the one transfer, got %+v", xfers)
		}
		var models []struct {
			Provider string `json:"provider"`
		}
		decodeJSON(t, "models", a.must("models", "--json"), &models)
		if len(models) == 0 || models[0].Provider != "llm-local" {
			t.Errorf("models --json: want llm-local's models, got %+v", models)
		}
		var st []plugins.Status
		decodeJSON(t, "plugin status", a.must("plugin", "status", "--json"), &st)
		if len(st) != 2 {
			t.Errorf("plugin status --json: want two plugins, got %+v", st)
		}
		var d struct {
			Allowed bool   `json:"allowed"`
			Rule    string `json:"rule"`
		}
		decodeJSON(t, "firewall check", a.must("firewall", "check", "bob", "messages", "--json"), &d)
		if !d.Allowed || !strings.Contains(d.Rule, `"contacts"`) {
			t.Errorf("firewall check --json: got %+v", d)
		}
	})
	t.Run("ask --json exits 0 when the answer completed, and --peer takes a name", func(t *testing.T) {
		out, errs, code := a.dpc("ask", "--json", "--peer", "bob", "what does bob cook?")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var last struct {
			Type string `json:"type"`
		}
		decodeJSON(t, "ask's last event", lines[len(lines)-1], &last)
		if code != 0 || last.Type != "done" || !strings.Contains(out, b.id) {
			t.Errorf("want exit 0, bob's node_id and a last \"done\" event, got exit %d: %s\nstderr: %s", code, out, errs)
		}
	})
	t.Run("ask does not list the file's metadata as your context", func(t *testing.T) {
		out := a.must("ask", "what do I like?")
		var ctxLine string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "context: ") {
				ctxLine = l
			}
		}
		if !strings.Contains(ctxLine, "profile.name") {
			t.Fatalf("want a context line with profile.name, got:\n%s", out)
		}
		for _, bad := range []string{"metadata", "version", "commit_history", "preferences"} {
			if strings.Contains(ctxLine, bad) {
				t.Errorf("want no %q in %q", bad, ctxLine)
			}
		}
	})

	t.Run("firewall check exits 0 on allow and 1 on deny", func(t *testing.T) {
		tests := map[string]struct {
			node, resource string
			wantOut        string
			wantCode       int
		}{
			"allow": {node: "bob", resource: "messages", wantOut: "allow: ", wantCode: 0},
			"deny":  {node: c.id, resource: "compute", wantOut: "deny: default deny", wantCode: 1},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				out, errs, code := a.dpc("firewall", "check", tc.node, tc.resource)
				if code != tc.wantCode || !strings.HasPrefix(out, tc.wantOut) || errs != "" {
					t.Errorf("want exit %d and %q, got exit %d: %s\nstderr: %s", tc.wantCode, tc.wantOut, code, out, errs)
				}
			})
		}
	})
	t.Run("an unknown resource is an error listing the valid ones", func(t *testing.T) {
		_, errs, code := a.dpc("firewall", "check", "bob", "nonsense")
		if code == 0 || !containsAll(errs, `"nonsense" is not a resource`, `"messages"`, `"context:<path>"`) {
			t.Errorf("want the valid resources listed, got exit %d: %s", code, errs)
		}
	})
	t.Run("a broken firewall.hcl: check and peers say the previous rules are in force, and why", func(t *testing.T) {
		fw := filepath.Join(a.home, "firewall.hcl")
		good, err := os.ReadFile(fw)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(fw, append(good, []byte("\nrule \"group\" {\n")...), 0o600); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		var out, errs string
		var code int
		for time.Now().Before(deadline) {
			if out, errs, code = a.dpc("firewall", "check", "bob", "messages"); strings.Contains(errs, "previous rules") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if code != 0 || !strings.HasPrefix(out, "allow: ") || !containsAll(errs, "previous rules are still in force", "firewall.hcl:") {
			t.Fatalf("check: want allow by the previous rules and the reason, got exit %d: %s\nstderr: %s", code, out, errs)
		}
		_, errs, _ = a.dpc("peers")
		if !containsAll(errs, "previous rules are still in force", "firewall.hcl:") {
			t.Errorf("peers: want the firewall problem, got: %s", errs)
		}
		var pl struct {
			FirewallError string `json:"firewall_error"`
		}
		decodeJSON(t, "peers", a.must("peers", "--json"), &pl)
		if !strings.Contains(pl.FirewallError, "firewall.hcl:") {
			t.Errorf("peers --json: want firewall_error, got %+v", pl)
		}
		if err := os.WriteFile(fw, good, 0o600); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("logs", func(t *testing.T) {
		listen := fmt.Sprintf("127.0.0.1:%d", a.port)
		waitLog(t, a.d, time.Minute, "dpc.network: listening:", "configured="+listen, "addresses="+listen)
		line := waitLog(t, a.d, time.Minute, "configured:", "default_listen=")
		if !strings.Contains(line, " dpc.plugin.transport-direct: configured:") || strings.Contains(line, "dpc-plugin-") ||
			strings.Contains(line, "timestamp=") {
			t.Errorf("want the plugin named once and no second timestamp, got %q", line)
		}
		line = waitLog(t, a.d, time.Minute, "peer answered with an error", "permission_denied")
		if !strings.Contains(line, "[INFO]") {
			t.Errorf("bob sharing no history is expected: want INFO, got %q", line)
		}
	})
}
