package personal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var created = time.Date(2026, 8, 20, 9, 30, 0, 0, time.FixedZone("CEST", 2*60*60))

func TestDefault(t *testing.T) {
	t.Parallel()
	got := Default("alice-laptop", created)
	golden(t, "testdata/default.golden", string(got))

	tests := map[string]string{
		"plain":            "alice-laptop",
		"quotes and slash": `Bob "the builder" \ co`,
		"unicode and html": "Zoé <zoe@example.org> & co",
		"empty":            "",
	}
	for name, node := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := Default(node, created)
			c, err := Parse(data, "personal.json")
			if err != nil {
				t.Fatalf("want the default file to parse, got %v", err)
			}
			if p := c.Profile(); p.Name != node || p.Description != "" || len(p.CoreValues) != 0 {
				t.Errorf("want profile name %q and nothing else, got %+v", node, p)
			}
			if len(c.Topics()) != 0 {
				t.Errorf("want no knowledge, got %q", c.Topics())
			}
			doc := c.Doc()
			for key, want := range map[string]string{
				"created": "2026-08-20T07:30:00Z", "last_updated": "2026-08-20T07:30:00Z",
				"storage": "local", "format_version": "2.0",
			} {
				if got, _ := lookup(doc, "metadata", key); got != want {
					t.Errorf("want metadata.%s %q, got %v", key, want, got)
				}
			}
			if !strings.HasSuffix(string(data), "}\n") || !strings.Contains(string(data), "\n  \"profile\": {\n    \"name\": ") {
				t.Errorf("want two-space indentation and a final newline, got\n%s", data)
			}
		})
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	base := `{"profile": {"name": "Alice", "core_values": ["a", "b"]}, "version": 2}`
	tests := map[string]struct {
		other    string
		wantSame bool
	}{
		"identical":              {base, true},
		"other layout":           {"{\n  \"version\" : 2,\n\n\t\"profile\":{\"core_values\":[\"a\",\"b\"],\"name\":\"Alice\"}\n}\n", true},
		"escaped the same":       {`{"profile": {"name": "\u0041lice", "core_values": ["a", "b"]}, "version": 2}`, true},
		"duplicate key, last":    {`{"profile": {"name": "Bob", "name": "Alice", "core_values": ["a", "b"]}, "version": 2}`, true},
		"other value":            {`{"profile": {"name": "Alicia", "core_values": ["a", "b"]}, "version": 2}`, false},
		"other array order":      {`{"profile": {"name": "Alice", "core_values": ["b", "a"]}, "version": 2}`, false},
		"number written another": {`{"profile": {"name": "Alice", "core_values": ["a", "b"]}, "version": 2.0}`, false},
		"one more key":           {`{"profile": {"name": "Alice", "core_values": ["a", "b"]}, "version": 2, "x": null}`, false},
	}
	want := Hash(decodeJSON(t, base))
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := Hash(decodeJSON(t, tc.other)); (got == want) != tc.wantSame {
				t.Errorf("want same hash %v, got %s vs %s", tc.wantSame, got, want)
			}
		})
	}
	if got := mustParse(t, base).Hash(); got != want {
		t.Errorf("want Context.Hash to be Hash of its document %s, got %s", want, got)
	}

	empty := sha256.Sum256([]byte("{}"))
	if got := Hash(map[string]any{}); got != hex.EncodeToString(empty[:]) {
		t.Errorf("want the hash of {} to be SHA-256 of \"{}\", got %s", got)
	}
}

// decodeJSON decodes src as Parse does, without checking it.
func decodeJSON(t *testing.T, src string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestEncode(t *testing.T) {
	t.Parallel()
	doc := decodeJSON(t, `{"zz": 1, "metadata": {"storage": "local"}, "aa": [], "version": 3,
		"profile": {"name": "<b>&</b>", "core_values": []}, "knowledge": {"b": {}, "a": {"summary": "x"}}}`)
	got, err := encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/encode.golden", string(got))

	// The realistic file survives a round trip: same document, same hash.
	c, err := Parse(mustRead(t, "testdata/personal.json"), "personal.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := encode(c.Doc())
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(out, "again.json")
	if err != nil {
		t.Fatalf("want the written file to parse, got %v", err)
	}
	if again.Hash() != c.Hash() {
		t.Errorf("want the same hash after writing and reading back, got %s then %s", c.Hash(), again.Hash())
	}

	if _, err := encode(map[string]any{"bad": func() {}}); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("want an error naming the key that cannot be encoded, got %v", err)
	}
}
