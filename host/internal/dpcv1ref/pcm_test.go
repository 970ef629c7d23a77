package dpcv1ref

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestParseContextIsAsStrictAsDPC: the shapes D-PC v0.27's dataclasses
// refuse are refused, the ones it tolerates pass.
func TestParseContextIsAsStrictAsDPC(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		context string
		ok      bool
	}{
		"D-PC's empty layout":                {`{"profile":null,"knowledge":{},"preferences":null,"cognitive_profile":null,"commit_history":[],"metadata":{}}`, true},
		"whole profile":                      {`{"profile":{"name":"n","description":"d","core_values":[]}}`, true},
		"empty profile: placeholder":         {`{"profile":{}}`, true},
		"profile without description":        {`{"profile":{"name":"n"}}`, false},
		"profile with an unknown key":        {`{"profile":{"name":"n","description":"d","email":"e"}}`, false},
		"book without rating":                {`{"knowledge":{"t":{"key_books":[{"title":"b"}]}}}`, false},
		"book with an unknown key":           {`{"knowledge":{"t":{"key_books":[{"title":"b","rating":1,"isbn":"i"}]}}}`, false},
		"no books":                           {`{"knowledge":{"t":{"key_books":[]}}}`, true},
		"source with an unknown key":         {`{"knowledge":{"t":{"entries":[{"source":{"url":"u"}}]}}}`, false},
		"topic unknown keys tolerated":       {`{"knowledge":{"t":{"summary":"s","colour":"red"}}}`, true},
		"bias profile unknown key":           {`{"cognitive_profile":{"bias_profile":{"notes":"n"}}}`, false},
		"preferences unknown keys tolerated": {`{"preferences":{"x":1}}`, true},
		"metadata null":                      {`{"metadata":null}`, false},
		"knowledge a list":                   {`{"knowledge":[]}`, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var v any
			if err := json.Unmarshal([]byte(tc.context), &v); err != nil {
				t.Fatal(err)
			}
			err := ParseContext(v)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrContextShape)) {
				t.Errorf("ParseContext(%s): want ok=%v, got %v", tc.context, tc.ok, err)
			}
		})
	}
}

// FuzzParseContext: whatever a peer sends as a context, the check answers
// with nil or an error, never a panic.
func FuzzParseContext(f *testing.F) {
	for _, seed := range []string{`{}`, `null`, `[]`, `{"profile":{"name":"n"}}`, `{"knowledge":{"t":{"entries":[1,{"source":[]}],"key_books":"b"}}}`,
		`{"cognitive_profile":{"bias_profile":{"x":1}},"metadata":3}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		if err := ParseContext(v); err != nil && !errors.Is(err, ErrContextShape) {
			t.Errorf("%s: an error that is not ErrContextShape: %v", data, err)
		}
	})
}
