package firewall

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Node ids used across the tests.
const (
	alice    = "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	bob      = "dpc-node-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	carol    = "dpc-node-cccccccccccccccccccccccccccccccc"
	dave     = "dpc-node-dddddddddddddddddddddddddddddddd"
	stranger = "dpc-node-eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
)

// contacts is a ContactSet listing its members.
type contacts []string

// introduced is an IntroducedSet of the node_ids listed.
type introduced []string

func (in introduced) IsIntroduced(node string) bool { return slices.Contains(in, node) }

func (c contacts) IsContact(node string) bool {
	for _, n := range c {
		if n == node {
			return true
		}
	}
	return false
}

// golden compares got with the file path, or rewrites it under -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("want golden file %s (run go test -update): %v", path, err)
	}
	if string(want) != got {
		t.Errorf("%s: want\n%s\ngot\n%s", path, want, got)
	}
}

// mustParse parses src as test.hcl or fails the test.
func mustParse(t testing.TB, src string) *Rules {
	t.Helper()
	r, err := Parse([]byte(src), "test.hcl")
	if err != nil {
		t.Fatalf("want %q to parse, got %v", src, err)
	}
	return r
}

// verdict renders a decision's outcome for messages.
func verdict(allowed bool) string {
	if allowed {
		return "allow"
	}
	return "deny"
}

// hclList renders strings as an HCL list.
func hclList(s ...string) string {
	q := make([]string, len(s))
	for i, e := range s {
		q[i] = `"` + e + `"`
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
