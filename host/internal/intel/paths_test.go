package intel

import (
	"slices"
	"testing"
)

func TestSourcePathsLeaveOutMetadataAndEmptyFields(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		doc  map[string]any
		want []string
	}{
		"dpc init's personal.json is only the name": {
			doc: map[string]any{
				"profile":           map[string]any{"name": "alice", "description": "", "core_values": []any{}},
				"knowledge":         map[string]any{},
				"preferences":       nil,
				"cognitive_profile": nil,
				"version":           1,
				"commit_history":    []any{},
				"metadata":          map[string]any{"created": "2026-01-01T00:00:00Z", "storage": "local", "format_version": "2.0"},
			},
			want: []string{"profile.name"},
		},
		"shared knowledge two levels deep": {
			doc: map[string]any{
				"knowledge": map[string]any{"cooking": map[string]any{"summary": "pasta"}},
				"profile":   map[string]any{"name": "carol"},
			},
			want: []string{"knowledge.cooking", "profile.name"},
		},
		"a plain top-level value": {doc: map[string]any{"motto": "be kind", "last_commit_id": "abc"}, want: []string{"motto"}},
		"nothing":                 {doc: map[string]any{}, want: []string{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := paths(tc.doc); !slices.Equal(got, tc.want) {
				t.Errorf("want %v, got %v", tc.want, got)
			}
		})
	}
}
