package firewall

import (
	"errors"
	"testing"
)

func TestGlob(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		pattern, name string
		want          bool
	}{
		"equal":                      {"context:profile.name", "context:profile.name", true},
		"different":                  {"context:profile.name", "context:profile.email", false},
		"prefix only":                {"context:profile", "context:profile.name", false},
		"star matches across dots":   {"context:knowledge.cooking.*", "context:knowledge.cooking.pasta.recipe", true},
		"star matches one level":     {"context:knowledge.cooking.*", "context:knowledge.cooking.pasta", true},
		"star needs the dot":         {"context:knowledge.cooking.*", "context:knowledge.cooking", false},
		"star matches empty":         {"model:llama3*", "model:llama3", true},
		"star in the middle":         {"context:*.name", "context:a.b.c.name", true},
		"star in the middle no":      {"context:*.name", "context:a.b.c.names", false},
		"two stars":                  {"context:*.*.x", "context:a.b.c.x", true},
		"two stars need two dots":    {"context:*.*.x", "context:a.x", false},
		"question mark":              {"model:llama?", "model:llama3", true},
		"question mark needs a char": {"model:llama?", "model:llama", false},
		"question mark one char":     {"model:llama?", "model:llama31", false},
		"question mark utf-8":        {"context:caf?", "context:café", true},
		"question mark is a char":    {"context:a?c", "context:a.c", true},
		"brackets are literal":       {"context:[ab]", "context:[ab]", true},
		"brackets do not class":      {"context:[ab]", "context:a", false},
		"backslash is literal":       {`context:a\*`, `context:a\xyz`, true},
		"backtracking":               {"*a*b*c", "xaxxbxxbxcx", false},
		"backtracking match":         {"*a*b*c", "xaxxbxxbxc", true},
		"only star":                  {"*", "", true},
		"empty pattern":              {"", "", true},
		"empty pattern non-empty":    {"", "x", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := glob(tc.pattern, tc.name); got != tc.want {
				t.Errorf("glob(%q, %q): want %v, got %v", tc.pattern, tc.name, tc.want, got)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		pattern, resource string
		want              bool
	}{
		"rule on a path covers a child":         {"context:profile", "context:profile.name", true},
		"rule on a path covers any depth":       {"context:profile", "context:profile.address.city", true},
		"rule on a path covers itself":          {"context:profile", "context:profile", true},
		"rule on a child does not grant parent": {"context:profile.name", "context:profile", false},
		"sibling with a common prefix":          {"context:profile", "context:profile_old", false},
		"sibling with a common prefix below":    {"context:profile", "context:profile_old.name", false},
		"dot star grants the parent":            {"context:profile.*", "context:profile", true},
		"dot star grants children":              {"context:profile.*", "context:profile.name", true},
		"dot star not a sibling":                {"context:profile.*", "context:profiles", false},
		"glob on a parent covers below":         {"context:*e", "context:profile.email", true},
		"context star covers everything":        {"context:*", "context:a.b.c", true},
		"context star not other kinds":          {"context:*", "messages", false},
		"model name has no subtree":             {"model:llama3", "model:llama3.1", false},
		"model glob":                            {"model:llama3*", "model:llama3.1:8b", true},
		"plain kind":                            {"messages", "messages", true},
		"plain kind no subtree":                 {"files", "files.x", false},
		"single star on a child path":           {"context:knowledge.*.public", "context:knowledge.cooking.public.tips", true},
		"single star child, parent requested":   {"context:knowledge.*.public", "context:knowledge.cooking", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := matches(tc.pattern, tc.resource); got != tc.want {
				t.Errorf("matches(%q, %q): want %v, got %v", tc.pattern, tc.resource, tc.want, got)
			}
		})
	}
}

func TestSpecificity(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		pattern string
		want    int
	}{
		"literal":                   {"messages", 8},
		"star":                      {"context:*", 8},
		"question mark":             {"model:llama?", 11},
		"trailing dot star":         {"context:profile.*", 15},
		"same as without dot star":  {"context:profile", 15},
		"inner star":                {"context:*.name", 13},
		"model dot star is literal": {"model:x.*", 8},
		"runes, not bytes":          {"context:café", 12},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := specificity(tc.pattern); got != tc.want {
				t.Errorf("specificity(%q): want %d, got %d", tc.pattern, tc.want, got)
			}
		})
	}
}

func TestValidateResource(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		resource string
		wantErr  bool
	}{
		"messages":         {"messages", false},
		"files":            {"files", false},
		"history":          {"history", false},
		"compute":          {"compute", false},
		"channel_invites":  {"channel_invites", false},
		"model":            {"model:llama3:8b", false},
		"context":          {"context:profile.name", false},
		"context with key": {"context:notes.my notes", false},
		"unknown":          {"email", true},
		"wrong case":       {"Messages", true},
		"no model":         {"model:", true},
		"no path":          {"context:", true},
		"empty element":    {"context:a..b", true},
		"leading dot":      {"context:.a", true},
		"trailing dot":     {"context:a.", true},
		"space around":     {" messages", true},
		"glob":             {"context:*", true},
		"question mark":    {"model:llama?", true},
		"empty":            {"", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := ValidateResource(tc.resource)
			if got := err != nil; got != tc.wantErr {
				t.Fatalf("ValidateResource(%q): want error %v, got %v", tc.resource, tc.wantErr, err)
			}
			if err != nil && !errors.Is(err, ErrInvalidResource) {
				t.Errorf("want an error wrapping ErrInvalidResource, got %v", err)
			}
		})
	}
}
