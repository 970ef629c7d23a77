package personal

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/config"
)

// TestParseGolden parses every file in testdata/parse: files named ok_*
// must parse, the others must fail; the golden file next to each holds
// what the context says or the error text.
func TestParseGolden(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob("testdata/parse/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("want test files in testdata/parse, got none")
	}
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse(mustRead(t, p), filepath.Base(p))
			wantOK := strings.HasPrefix(name, "ok_")
			var got string
			switch {
			case wantOK && err != nil:
				t.Fatalf("want %s to parse, got %v", p, err)
			case !wantOK && err == nil:
				t.Fatalf("want an error for %s, got none", p)
			case err != nil:
				var cerr *config.Error
				if !errors.Is(err, ErrInvalidContext) || !errors.As(err, &cerr) {
					t.Errorf("want a *config.Error wrapping ErrInvalidContext, got %T %v", err, err)
				}
				got = err.Error() + "\n"
			default:
				got = summary(c)
			}
			golden(t, strings.TrimSuffix(p, ".json")+".golden", got)
		})
	}
}

// summary renders what the typed accessors see in c.
func summary(c *Context) string {
	var b strings.Builder
	p := c.Profile()
	fmt.Fprintf(&b, "name: %q\ndescription: %q\ncore_values: %q\n", p.Name, p.Description, p.CoreValues)
	for _, name := range c.Topics() {
		t, _ := c.Topic(name)
		fmt.Fprintf(&b, "topic %q: summary %q, %d entries\n", name, t.Summary, len(t.Entries))
		for _, e := range t.Entries {
			fmt.Fprintf(&b, "  - %q %q\n", e.Content, e.Tags)
		}
	}
	fmt.Fprintf(&b, "hash: %s\n", c.Hash())
	return b.String()
}

func TestParseRealistic(t *testing.T) {
	t.Parallel()
	c, err := Parse(mustRead(t, "testdata/personal.json"), "personal.json")
	if err != nil {
		t.Fatalf("want the realistic file to parse, got %v", err)
	}
	if p := c.Profile(); p.Name != "Alice Moreau" || len(p.CoreValues) != 3 || p.CoreValues[2] != "privacy" {
		t.Errorf("want Alice Moreau with 3 core values ending in privacy, got %+v", p)
	}
	if got := c.Topics(); strings.Join(got, ",") != "cooking,rust_programming" {
		t.Errorf("want topics cooking,rust_programming, got %q", got)
	}
	cooking, ok := c.Topic("cooking")
	if !ok || len(cooking.Entries) != 2 || cooking.Entries[0].Tags[0] != "sourdough" ||
		!strings.HasPrefix(cooking.Entries[1].Content, "Salt the pasta water") {
		t.Errorf("want the cooking topic with its 2 entries, got %+v (found %v)", cooking, ok)
	}
	if _, ok := c.Topic("gardening"); ok {
		t.Error("want no gardening topic, got one")
	}

	doc := c.Doc()
	// Numbers stay as written: 1.0 is not turned into 1, 4.5 not into a float.
	score, _ := lookup(doc, "knowledge", "cooking")
	entries := score.(map[string]any)["entries"].([]any)
	if got := entries[0].(map[string]any)["effectiveness_score"]; got != json.Number("1.0") {
		t.Errorf("want effectiveness_score json.Number(\"1.0\"), got %#v", got)
	}
	out, err := encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"effectiveness_score": 1.0,`) || !strings.Contains(string(out), `"rating": 4.5`) {
		t.Errorf("want numbers written back as read, got\n%s", out)
	}
	// Keys inside are kept, unknown to this package or not.
	if v, ok := lookup(doc, "cognitive_profile", "bias_profile", "mitigation_strategies", "anchoring"); !ok || v == "" {
		t.Errorf("want nested keys kept, got %v %v", v, ok)
	}
}

// TestDocIsACopy checks that changing what Doc returns leaves the context
// as it was.
func TestDocIsACopy(t *testing.T) {
	t.Parallel()
	c := mustParse(t, `{"profile": {"name": "Alice", "core_values": ["a"]}}`)
	doc := c.Doc()
	doc["profile"].(map[string]any)["name"] = "Mallory"
	doc["profile"].(map[string]any)["core_values"].([]any)[0] = "b"
	delete(doc, "profile")
	if p := c.Profile(); p.Name != "Alice" || p.CoreValues[0] != "a" {
		t.Errorf("want the context unchanged, got %+v", p)
	}
	if Hash(c.Doc()) != c.Hash() {
		t.Error("want a fresh Doc to hash to the context's hash, got another hash")
	}
}

func TestRangeAt(t *testing.T) {
	t.Parallel()
	src := []byte("{\n  \"é\": 1,\n\t\"x\": [true]\n}")
	tests := map[string]struct {
		off, skip            int
		wantLine, wantColumn int
		wantByte             int
	}{
		"start":                 {off: 0, wantLine: 1, wantColumn: 1},
		"after a newline":       {off: 2, wantLine: 2, wantColumn: 1},
		"after a two-byte rune": {off: 8, wantLine: 2, wantColumn: 6, wantByte: 8},
		"after a tab":           {off: 14, wantLine: 3, wantColumn: 2, wantByte: 14},
		"past the end":          {off: 100, wantLine: 4, wantColumn: 2, wantByte: len(src)},
		"before the start":      {off: -1, wantLine: 1, wantColumn: 1},
		"after a BOM":           {off: 2, skip: 3, wantLine: 2, wantColumn: 1, wantByte: 5},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := rangeAt(src, tc.off, tc.skip, "f.json")
			want := tc.wantByte
			if want == 0 {
				want = max(0, tc.off) + tc.skip
			}
			if r.Start.Line != tc.wantLine || r.Start.Column != tc.wantColumn || r.Start.Byte != want || r.Filename != "f.json" {
				t.Errorf("want f.json:%d:%d byte %d, got %s:%d:%d byte %d",
					tc.wantLine, tc.wantColumn, want, r.Filename, r.Start.Line, r.Start.Column, r.Start.Byte)
			}
		})
	}
}

func TestPathString(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		path []any
		want string
	}{
		"keys":          {[]any{"profile", "name"}, "profile.name"},
		"index":         {[]any{"knowledge", "cooking", "entries", 2, "tags", 0}, "knowledge.cooking.entries[2].tags[0]"},
		"dotted key":    {[]any{"knowledge", "c.sharp"}, `knowledge["c.sharp"]`},
		"empty key":     {[]any{"knowledge", ""}, `knowledge[""]`},
		"spaced key":    {[]any{"knowledge", " x"}, `knowledge[" x"]`},
		"key with word": {[]any{"knowledge", "home cooking"}, "knowledge.home cooking"},
		"root":          {nil, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := pathString(tc.path); got != tc.want {
				t.Errorf("want %q, got %q", tc.want, got)
			}
		})
	}
}
