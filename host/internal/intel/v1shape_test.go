package intel

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/dpc-go/dpc/host/internal/dpcv1ref"
)

// roundTrip is v as a D-PC peer decodes it from the wire.
func roundTrip(tb testing.TB, v any) map[string]any {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestV1PartialContextParsesInDPC: what the firewall shares of a context,
// cut below the top level, must still build D-PC v0.27's dataclasses
// (else D-PC drops the whole answer), and reveal nothing more.
func TestV1PartialContextParsesInDPC(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		shared string // what the firewall shares
		want   string // the fields of the answer that differ from the empty layout
	}{
		"profile name only":          {`{"profile":{"name":"Gopher"}}`, `{"profile":{"name":"Gopher","description":""}}`},
		"profile values only":        {`{"profile":{"core_values":["care"]}}`, `{"profile":{"name":"","description":"","core_values":["care"]}}`},
		"profile key D-PC lacks":     {`{"profile":{"name":"Gopher","email":"g@example.org"}}`, `{"profile":{"name":"Gopher","description":""}}`},
		"profile of keys D-PC lacks": {`{"profile":{"email":"g@example.org"}}`, `{}`},
		"profile not an object":      {`{"profile":"Gopher"}`, `{}`},
		"book without rating": {`{"knowledge":{"go":{"summary":"s","key_books":[{"title":"TGPL"}]}}}`,
			`{"knowledge":{"go":{"summary":"s","key_books":[{"title":"TGPL","rating":0}]}}}`},
		"book without title, key D-PC lacks": {`{"knowledge":{"go":{"key_books":[{"rating":5,"isbn":"x"}]}}}`,
			`{"knowledge":{"go":{"key_books":[{"title":"","rating":5}]}}}`},
		"books not objects": {`{"knowledge":{"go":{"key_books":["TGPL",{}]}}}`, `{"knowledge":{"go":{"key_books":null}}}`},
		"books not a list":  {`{"knowledge":{"go":{"key_books":{"title":"TGPL"}}}}`, `{"knowledge":{"go":{"key_books":null}}}`},
		"entry source key D-PC lacks": {`{"knowledge":{"go":{"entries":[{"content":"c","source":{"type":"import","url":"u"}}]}}}`,
			`{"knowledge":{"go":{"entries":[{"content":"c","source":{"type":"import"}}]}}}`},
		"entries not objects":     {`{"knowledge":{"go":{"entries":["c",{"content":"d"}]}}}`, `{"knowledge":{"go":{"entries":[{"content":"d"}]}}}`},
		"entries not a list":      {`{"knowledge":{"go":{"entries":"c"}}}`, `{"knowledge":{"go":{"entries":[]}}}`},
		"topic not an object":     {`{"knowledge":{"go":"yes","rust":{"summary":"r"}}}`, `{"knowledge":{"rust":{"summary":"r"}}}`},
		"knowledge not an object": {`{"knowledge":["go"]}`, `{}`},
		"bias profile key D-PC lacks": {`{"cognitive_profile":{"bias_profile":{"known_biases":["anchoring"],"notes":"n"}}}`,
			`{"cognitive_profile":{"bias_profile":{"known_biases":["anchoring"]}}}`},
		"cognitive profile not an object": {`{"cognitive_profile":"calm"}`, `{}`},
		"preferences kept as shared":      {`{"preferences":{"communication_style":"brief","x":1}}`, `{"preferences":{"communication_style":"brief","x":1}}`},
		"metadata null":                   {`{"metadata":null}`, `{}`},
		"commit history not a list":       {`{"commit_history":{"a":1}}`, `{}`},
		"top-level key D-PC lacks":        {`{"contacts":["bob"]}`, `{}`},
	}
	empty := roundTrip(t, v1ContextLayout(map[string]any{}))
	if err := dpcv1ref.ParseContext(empty); err != nil {
		t.Fatalf("the empty layout: %v", err)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var shared, diff map[string]any
			if err := json.Unmarshal([]byte(tc.shared), &shared); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.want), &diff); err != nil {
				t.Fatal(err)
			}
			want := roundTrip(t, empty)
			for k, v := range diff {
				want[k] = v
			}
			got := roundTrip(t, v1ContextLayout(shared))
			if !reflect.DeepEqual(got, want) {
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(want)
				t.Errorf("shared %s\n got %s\nwant %s", tc.shared, gb, wb)
			}
			if err := dpcv1ref.ParseContext(got); err != nil {
				t.Errorf("D-PC cannot parse the answer: %v", err)
			}
		})
	}
}

// FuzzV1ContextParsesInDPC: whatever a personal context holds, the answer
// to a v1 peer builds D-PC's PersonalContext.
func FuzzV1ContextParsesInDPC(f *testing.F) {
	for _, seed := range []string{`{}`, `{"profile":{"name":"x"}}`, `{"knowledge":{"t":{"key_books":[{"rating":1}],"entries":[{"source":{"a":1}}]}}}`,
		`{"cognitive_profile":{"bias_profile":[1]}}`, `{"profile":[],"preferences":3,"metadata":"m"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc map[string]any
		if json.Unmarshal(data, &doc) != nil {
			return
		}
		if err := dpcv1ref.ParseContext(roundTrip(t, v1ContextLayout(doc))); err != nil {
			t.Errorf("context %s: %v", data, err)
		}
	})
}
