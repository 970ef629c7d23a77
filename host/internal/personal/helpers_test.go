package personal

import (
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

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

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustParse parses src as test.json or fails the test.
func mustParse(t testing.TB, src string) *Context {
	t.Helper()
	c, err := Parse([]byte(src), "test.json")
	if err != nil {
		t.Fatalf("want %q to parse, got %v", src, err)
	}
	return c
}

// jsonOf renders a value as compact JSON, for comparing documents.
func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lookup returns the value at a dotted path of doc, and whether there is one.
func lookup(doc map[string]any, keys ...string) (any, bool) {
	var v any = doc
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}
