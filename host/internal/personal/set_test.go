package personal

import (
	"errors"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/config"
)

func TestSet(t *testing.T) {
	t.Parallel()
	const start = `{
  "profile": {"name": "Alice", "core_values": ["honesty"]},
  "knowledge": {"cooking": {"summary": "bread", "entries": [{"content": "Salt the water.", "tags": []}]}},
  "preferences": null,
  "version": 3
}`
	tests := map[string]struct {
		path, value  string
		wantAt       []string // where to look after a success
		wantJSON     string   // the value found there, as compact JSON
		wantErr      string   // substring; "" for success
		wantSentinel error
	}{
		"string":                {path: "profile.name", value: "Bob", wantAt: []string{"profile", "name"}, wantJSON: `"Bob"`},
		"string with spaces":    {path: "profile.description", value: "bakes bread, writes Go", wantAt: []string{"profile", "description"}, wantJSON: `"bakes bread, writes Go"`},
		"JSON string":           {path: "profile.name", value: `"42"`, wantAt: []string{"profile", "name"}, wantJSON: `"42"`},
		"not JSON is a string":  {path: "profile.name", value: `{"unclosed`, wantAt: []string{"profile", "name"}, wantJSON: `"{\"unclosed"`},
		"two values are text":   {path: "profile.name", value: `"a" "b"`, wantAt: []string{"profile", "name"}, wantJSON: `"\"a\" \"b\""`},
		"empty string":          {path: "profile.description", value: "", wantAt: []string{"profile", "description"}, wantJSON: `""`},
		"array":                 {path: "profile.core_values", value: `["a", "b"]`, wantAt: []string{"profile", "core_values"}, wantJSON: `["a","b"]`},
		"number kept exactly":   {path: "knowledge.cooking.confidence", value: "0.950", wantAt: []string{"knowledge", "cooking", "confidence"}, wantJSON: `0.950`},
		"boolean":               {path: "preferences.verbose", value: "true", wantAt: []string{"preferences", "verbose"}, wantJSON: `true`},
		"object":                {path: "knowledge.chess", value: `{"summary": "club player", "x": 1}`, wantAt: []string{"knowledge", "chess"}, wantJSON: `{"summary":"club player","x":1}`},
		"null":                  {path: "cognitive_profile", value: "null", wantAt: []string{"cognitive_profile"}, wantJSON: `null`},
		"new topic summary":     {path: "knowledge.gardening.summary", value: "tomatoes", wantAt: []string{"knowledge", "gardening"}, wantJSON: `{"summary":"tomatoes"}`},
		"through null":          {path: "preferences.communication_style", value: "concise", wantAt: []string{"preferences"}, wantJSON: `{"communication_style":"concise"}`},
		"new deep path":         {path: "extra.a.b.c", value: "1", wantAt: []string{"extra"}, wantJSON: `{"a":{"b":{"c":1}}}`},
		"unknown top-level key": {path: "favourite_colour", value: "green", wantAt: []string{"favourite_colour"}, wantJSON: `"green"`},
		"key that is a number":  {path: "knowledge.2026", value: `{}`, wantAt: []string{"knowledge", "2026"}, wantJSON: `{}`},

		"empty path":   {path: "", value: "x", wantErr: `invalid context path: the path is empty`, wantSentinel: ErrInvalidPath},
		"empty key":    {path: "profile..name", value: "x", wantErr: `invalid context path "profile..name": key 2 is empty`, wantSentinel: ErrInvalidPath},
		"leading dot":  {path: ".profile", value: "x", wantErr: `key 1 is empty`, wantSentinel: ErrInvalidPath},
		"trailing dot": {path: "profile.", value: "x", wantErr: `key 2 is empty`, wantSentinel: ErrInvalidPath},
		"index syntax": {path: "profile.core_values[0]", value: "x",
			wantErr: `"core_values[0]" looks like an array index, and paths cannot index into arrays`, wantSentinel: ErrInvalidPath},
		"into an array": {path: "knowledge.cooking.entries.0.content", value: "x",
			wantErr: `knowledge.cooking.entries is an array, and paths cannot index into arrays; set the whole array as JSON`, wantSentinel: ErrInvalidPath},
		"into a string": {path: "profile.name.first", value: "x",
			wantErr: `invalid context path "profile.name.first": profile.name is a string, not an object, so it has no "first"`, wantSentinel: ErrInvalidPath},
		"into a number": {path: "version.major", value: "1", wantErr: `version is a number, not an object`, wantSentinel: ErrInvalidPath},

		"name as object": {path: "profile.name", value: `{"first": "Al"}`,
			wantErr: "Wrong type: profile.name must be a string, not an object. (The value was read as JSON.)", wantSentinel: ErrInvalidContext},
		"name as number": {path: "profile.name", value: "42",
			wantErr: `Wrong type: profile.name must be a string, not the number 42. (The value 42 was read as JSON; to set it as a string, quote it: "42".)`, wantSentinel: ErrInvalidContext},
		"core values as text": {path: "profile.core_values", value: "honesty, curiosity",
			wantErr: "Wrong type: profile.core_values must be an array of strings, not a string. (The value is not valid JSON, so it was taken as a string.)", wantSentinel: ErrInvalidContext},
		"core values with a number": {path: "profile.core_values", value: `["a", 1]`,
			wantErr: "Wrong type: profile.core_values[1] must be a string, not the number 1.", wantSentinel: ErrInvalidContext},
		"format version": {path: "metadata.format_version", value: "3.0",
			wantErr: `Wrong type: metadata.format_version must be the string "2.0", not the number 3.0.`, wantSentinel: ErrInvalidContext},
		"topic as text": {path: "knowledge.cooking", value: "bread",
			wantErr: "Wrong type: knowledge.cooking must be an object (a topic), not a string.", wantSentinel: ErrInvalidContext},
		"entry without content": {path: "knowledge.cooking.entries", value: `[{"tags": []}]`,
			wantErr: `Missing content: knowledge.cooking.entries[0] has no "content"`, wantSentinel: ErrInvalidContext},
		"new path made invalid": {path: "knowledge.gardening.entries.x", value: "1",
			wantErr: "Wrong type: knowledge.gardening.entries must be an array of entries, not an object.", wantSentinel: ErrInvalidContext},
		"object with a dotted key": {path: "preferences", value: `{"name.private_phone": "1"}`,
			wantErr: `Dot in a key: The key "name.private_phone" in preferences holds a dot.`, wantSentinel: ErrInvalidContext},
		"whole document": {path: "profile", value: `"Alice"`,
			wantErr: "profile must be an object, not a string.", wantSentinel: ErrInvalidContext},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			doc := mustParse(t, start).Doc()
			before := Hash(doc)
			err := Set(doc, tc.path, tc.value)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
				}
				if !errors.Is(err, tc.wantSentinel) {
					t.Errorf("want an error wrapping %v, got %v", tc.wantSentinel, err)
				}
				var cerr *config.Error
				if errors.Is(err, ErrInvalidContext) && !errors.As(err, &cerr) {
					t.Errorf("want a *config.Error for an invalid result, got %T", err)
				}
				if got := Hash(doc); got != before {
					t.Errorf("want the document unchanged after an error, got %s", jsonOf(t, doc))
				}
				return
			}
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			got, ok := lookup(doc, tc.wantAt...)
			if !ok || jsonOf(t, got) != tc.wantJSON {
				t.Errorf("want %s at %v, got %s (found %v)", tc.wantJSON, tc.wantAt, jsonOf(t, got), ok)
			}
			// The result is what the file will hold: it parses to the same document.
			out, err := encode(doc)
			if err != nil {
				t.Fatal(err)
			}
			if c, err := Parse(out, "set.json"); err != nil || c.Hash() != Hash(doc) {
				t.Errorf("want the result to parse to the same document, got %v", err)
			}
		})
	}
}

func TestSetNilDocument(t *testing.T) {
	t.Parallel()
	if err := Set(nil, "profile.name", "x"); !errors.Is(err, ErrInvalidContext) {
		t.Errorf("want ErrInvalidContext for a nil document, got %v", err)
	}
}

// TestSetKeepsOthers checks that Set changes only what its path names.
func TestSetKeepsOthers(t *testing.T) {
	t.Parallel()
	doc := mustParse(t, `{"profile": {"name": "Alice", "description": "d"}, "knowledge": {"cooking": {"summary": "s"}}}`).Doc()
	if err := Set(doc, "profile.name", "Bob"); err != nil {
		t.Fatal(err)
	}
	want := `{"knowledge":{"cooking":{"summary":"s"}},"profile":{"description":"d","name":"Bob"}}`
	if got := jsonOf(t, doc); got != want {
		t.Errorf("want %s, got %s", want, got)
	}
}
