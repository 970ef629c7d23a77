package jsondoc

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestCopyValue(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		v    any
		want any
	}{
		"nil":            {v: nil, want: nil},
		"string":         {v: "hello", want: "hello"},
		"float":          {v: 1.5, want: 1.5},
		"json number":    {v: json.Number("12345678901234567890"), want: json.Number("12345678901234567890")},
		"bool":           {v: true, want: true},
		"empty object":   {v: map[string]any{}, want: map[string]any{}},
		"nil object":     {v: map[string]any(nil), want: map[string]any{}},
		"empty array":    {v: []any{}, want: []any{}},
		"nil array":      {v: []any(nil), want: []any{}},
		"flat object":    {v: map[string]any{"a": "x", "b": 2.0, "c": nil}, want: map[string]any{"a": "x", "b": 2.0, "c": nil}},
		"array of mixed": {v: []any{"x", 1.0, false, nil}, want: []any{"x", 1.0, false, nil}},
		"nested": {
			v:    map[string]any{"k": map[string]any{"entries": []any{map[string]any{"tags": []any{"a", "b"}}}}},
			want: map[string]any{"k": map[string]any{"entries": []any{map[string]any{"tags": []any{"a", "b"}}}}},
		},
		"other type kept": {v: []string{"not", "json"}, want: []string{"not", "json"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := CopyValue(tc.v)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("want %#v, got %#v", tc.want, got)
			}
			mutate(got)
			if again := CopyValue(tc.v); !reflect.DeepEqual(again, tc.want) {
				t.Errorf("want the original unchanged by changing the copy, got %#v", tc.v)
			}
		})
	}
}

func TestCopy(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		doc  map[string]any
		want map[string]any
	}{
		"nil":   {doc: nil, want: map[string]any{}},
		"empty": {doc: map[string]any{}, want: map[string]any{}},
		"document": {
			doc:  map[string]any{"profile": map[string]any{"name": "Alice", "core_values": []any{"care"}}, "version": json.Number("3")},
			want: map[string]any{"profile": map[string]any{"name": "Alice", "core_values": []any{"care"}}, "version": json.Number("3")},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := Copy(tc.doc)
			if got == nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("want %#v, got %#v", tc.want, got)
			}
			mutate(got)
			if again := Copy(tc.doc); !reflect.DeepEqual(again, tc.want) {
				t.Errorf("want the original unchanged by changing the copy, got %#v", tc.doc)
			}
		})
	}
}

// mutate changes every map and slice of v in place, at every depth.
func mutate(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			mutate(e)
			v[k] = "changed"
		}
		v["added"] = true
	case []any:
		for i, e := range v {
			mutate(e)
			v[i] = "changed"
		}
	}
}
