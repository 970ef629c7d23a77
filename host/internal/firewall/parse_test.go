package firewall

import (
	"github.com/dpc-go/dpc/config"

	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestParseGolden parses each testdata/parse/*.hcl and compares the error
// text, or a rendering of the rules for ok_*.hcl, with the .golden file next
// to it. Run go test -update to rewrite them.
func TestParseGolden(t *testing.T) {
	t.Parallel()
	inputs, err := filepath.Glob("testdata/parse/*.hcl")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("want testdata/parse/*.hcl, got %v (err %v)", inputs, err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".hcl")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src := mustRead(t, in)
			r, err := Parse(src, filepath.Base(in))
			wantOK := strings.HasPrefix(name, "ok_")
			if got := err == nil; got != wantOK {
				t.Fatalf("want success %v, got error %v", wantOK, err)
			}
			var out string
			if err != nil {
				var ferr *config.Error
				if !errors.Is(err, ErrInvalidRules) || !errors.As(err, &ferr) {
					t.Errorf("want a *config.Error wrapping ErrInvalidRules, got %T %v", err, err)
				}
				for _, line := range strings.Split(err.Error(), "\n") {
					if !strings.HasPrefix(line, filepath.Base(in)+":") {
						t.Errorf("want every problem to start with file:line:column, got %q", line)
					}
				}
				out = err.Error() + "\n"
			} else {
				out = render(r)
			}
			golden(t, strings.TrimSuffix(in, ".hcl")+".golden", out)
		})
	}
}

// render prints parsed rules for golden files.
func render(r *Rules) string {
	var b strings.Builder
	for _, g := range slices.Sorted(mapsKeys(r.members)) {
		fmt.Fprintf(&b, "group %q members %q\n", g, slices.Sorted(mapsKeys(r.members[g])))
	}
	blocks := slices.Clone(r.groups)
	for _, n := range slices.Sorted(mapsKeys(r.nodes)) {
		blocks = append(blocks, r.nodes[n])
	}
	for _, n := range slices.Sorted(mapsKeys(r.scopes)) {
		blocks = append(blocks, r.scopes[n])
	}
	for _, rb := range blocks {
		fmt.Fprintf(&b, "%s: rule %q %q\n", config.Pos(rb.rng), rb.kind, rb.name)
		for _, p := range rb.patterns {
			fmt.Fprintf(&b, "  %s: %s %q (specificity %d)\n", config.Pos(p.rng), verdict(p.allow), p.text, p.rank)
		}
		if rb.files != nil {
			fmt.Fprintf(&b, "  files: max %d bytes, ask above %d bytes, types %q\n", rb.files.MaxSizeBytes, rb.files.AskAboveBytes, rb.files.AllowedTypes)
		}
	}
	return b.String()
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestParseErrorIs(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(`rule "group" "x" {}`), "firewall.hcl")
	if !errors.Is(err, ErrInvalidRules) {
		t.Fatalf("want ErrInvalidRules, got %v", err)
	}
	if want := `firewall.hcl:1:14: Undeclared group`; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("want %q…, got %q", want, err.Error())
	}
}
