package firewall

import (
	"github.com/dpc-go/dpc/config"

	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary bytes as firewall.hcl: Parse must return rules
// or a *config.Error wrapping ErrInvalidRules, never panic, and the rules must
// answer every question without panicking, a node's own block deciding its
// own patterns.
func FuzzParse(f *testing.F) {
	paths, err := filepath.Glob("testdata/parse/*.hcl")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(DefaultFile))
	f.Add([]byte(testRules))
	resources := []string{Messages, Files, History, Compute, ChannelInvites, "model:llama3", "context:profile",
		"context:profile.name", "context:knowledge.cooking.pasta", "context:", "", "context:*"}
	everyone := contacts{alice, bob, carol, dave}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data, "fuzz.hcl")
		if err != nil {
			var ferr *config.Error
			if !errors.Is(err, ErrInvalidRules) || !errors.As(err, &ferr) || err.Error() == "" {
				t.Fatalf("want a non-empty *config.Error wrapping ErrInvalidRules, got %T %v", err, err)
			}
			return
		}
		nodes := []string{alice, bob, carol, dave, stranger}
		for n, b := range r.nodes {
			nodes = append(nodes, n)
			for _, p := range b.patterns {
				// The pattern matches itself, so the node block decides.
				d := r.Check(n, p.text, nil)
				if !strings.Contains(d.Rule, `rule "node" "`+n+`"`) {
					t.Fatalf("want %q for %s decided by its node block, got %s", p.text, n, d.Rule)
				}
			}
		}
		for _, n := range nodes {
			for _, res := range resources {
				d := r.Check(n, res, everyone)
				if d.Rule == "" || d.Allowed && d.Rule == DefaultDeny {
					t.Fatalf("want a consistent decision, got %+v", d)
				}
			}
			l := r.FileLimits(n, everyone)
			l.Allows(1, "image/png")
			r.Filter(n, everyone, testDoc())
		}
	})
}

// FuzzMatch checks the glob matcher against a regexp and the properties
// the rules rely on: a pattern matches itself, a pattern without globs
// matches only itself, and a context pattern covers everything below what
// it matches.
func FuzzMatch(f *testing.F) {
	seeds := [][2]string{
		{"context:knowledge.cooking.*", "context:knowledge.cooking.pasta.recipe"},
		{"context:profile", "context:profile.name"},
		{"context:profile.*", "context:profile"},
		{"model:llama?", "model:llama3"},
		{"*a*b*c", "xaxxbxxbxc"},
		{"context:caf?", "context:café"},
		{"context:*", "context:"},
		{"?", "\xff"},
		{"", ""},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := glob(pattern, name)
		if !glob(name, name) || !matches(name, name) {
			t.Fatalf("want %q to match itself", name)
		}
		if !glob(pattern, pattern) {
			t.Fatalf("want %q to match itself", pattern)
		}
		if !strings.ContainsAny(pattern, "*?") && got != (pattern == name) {
			t.Fatalf("glob(%q, %q) without globs: want %v, got %v", pattern, name, pattern == name, got)
		}
		if got && !matches(pattern, name) {
			t.Fatalf("want matches(%q, %q) when glob does", pattern, name)
		}
		if n := specificity(pattern); n < 0 || n > utf8.RuneCountInString(pattern) {
			t.Fatalf("specificity(%q) = %d, out of range", pattern, n)
		}
		if strings.HasPrefix(pattern, ContextPrefix) && strings.HasPrefix(name, ContextPrefix) && matches(pattern, name) &&
			!matches(pattern, name+".below") {
			t.Fatalf("want %q, which matches %q, to cover %q", pattern, name, name+".below")
		}
		if utf8.ValidString(pattern) && utf8.ValidString(name) {
			re := globRegexp(pattern)
			if want := re.MatchString(name); got != want {
				t.Fatalf("glob(%q, %q): want %v (as %s), got %v", pattern, name, want, re, got)
			}
		}
	})
}

// globRegexp translates a glob into the equivalent regexp.
func globRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String())
}
