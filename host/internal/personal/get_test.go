package personal

import (
	"errors"
	"reflect"
	"testing"
)

func TestGet(t *testing.T) {
	t.Parallel()
	doc := map[string]any{
		"profile":   map[string]any{"name": "Carol", "core_values": []any{"honesty"}},
		"knowledge": map[string]any{"cooking": map[string]any{"summary": "pasta"}},
	}
	tests := map[string]struct {
		path    string
		want    any
		wantErr string
	}{
		"leaf":           {path: "profile.name", want: "Carol"},
		"subtree":        {path: "knowledge.cooking", want: map[string]any{"summary": "pasta"}},
		"array":          {path: "profile.core_values", want: []any{"honesty"}},
		"missing top":    {path: "preferences", wantErr: `invalid context path "preferences": the context has no "preferences"`},
		"missing deeper": {path: "knowledge.gardening.summary", wantErr: `invalid context path "knowledge.gardening.summary": knowledge has no "gardening"`},
		"through a leaf": {path: "profile.name.first", wantErr: `invalid context path "profile.name.first": profile.name is a string, not an object`},
		"empty":          {path: "", wantErr: "invalid context path: the path is empty; name a value such as profile.name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := Get(doc, tc.path)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || !errors.Is(err, ErrInvalidPath) {
					t.Fatalf("want error %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("want %v, got %v (%v)", tc.want, got, err)
			}
		})
	}
}
