package llmlocal

import (
	"maps"
	"slices"
	"testing"
)

func TestStem(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ words []string }{
		"plural s":                {words: []string{"recipe", "recipes"}},
		"plural es":               {words: []string{"dish", "dishes"}},
		"plural ies":              {words: []string{"berry", "berries"}},
		"ing":                     {words: []string{"cook", "cooks", "cooking", "cooked"}},
		"ing after a final e":     {words: []string{"bake", "baking", "bakes"}},
		"doubled consonant":       {words: []string{"run", "running"}},
		"double l is kept":        {words: []string{"fall", "falling", "falls"}},
		"ss is not a plural":      {words: []string{"class", "classes"}},
		"short words as they are": {words: []string{"tea", "teas"}},
		"doubled l (British)":     {words: []string{"travel", "travels", "travelling", "travelled"}},
		"derived noun":            {words: []string{"happy", "happiness"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := stem(tc.words[0])
			for _, w := range tc.words[1:] {
				if got := stem(w); got != want {
					t.Errorf("want stem(%q) == stem(%q) == %q, got %q", w, tc.words[0], want, got)
				}
			}
		})
	}
	// Words that must stay apart.
	for _, pair := range [][2]string{{"status", "statu"}, {"news", "new"}, {"thing", "th"}, {"bus", "bu"}} {
		if stem(pair[0]) == pair[1] {
			t.Errorf("stem(%q) = %q: too aggressive", pair[0], pair[1])
		}
	}
}

func TestTerms(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		text string
		want []string
	}{
		"stop words dropped, lower-cased": {text: "What is THE best Tea?", want: []string{"best", "tea"}},
		"punctuation and paths split":     {text: "knowledge.cooking.entries[0].content", want: []string{"0", "content", "cook", "entri", "knowledg"}},
		"apostrophes":                     {text: "Carol's don't", want: []string{"carol"}},
		"other scripts and marks":         {text: "Борщ, café, नमस्ते", want: []string{"café", "борщ", "नमस्ते"}},
		"digits kept":                     {text: "version 2 of 2024", want: []string{"2", "2024", "version"}},
		"nothing":                         {text: " ,.; ", want: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			set := map[string]bool{}
			terms(set, tc.text)
			got := slices.Sorted(maps.Keys(set))
			if !slices.Equal(got, tc.want) {
				t.Errorf("want %q, got %q", tc.want, got)
			}
		})
	}
}
