package firewall

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// testDoc is a personal context as encoding/json decodes it.
func testDoc() map[string]any {
	return map[string]any{
		"profile": map[string]any{
			"name":    "Alice",
			"email":   "alice@example.org",
			"phone":   "+33 1 23 45 67 89",
			"address": map[string]any{"city": "Paris", "street": "rue X"},
		},
		"knowledge": map[string]any{
			"cooking": map[string]any{
				"pasta":  map[string]any{"recipe": "boil", "tips": []any{"salt", map[string]any{"secret": "butter"}}},
				"secret": "msg",
			},
			"professional": map[string]any{"go": "yes"},
		},
		"preferences": map[string]any{},
		"version":     float64(3),
		"metadata":    nil,
	}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	fixture := mustParse(t, testRules)
	tests := map[string]struct {
		rules    string // a node block for dave; "" means testRules
		node     string
		contacts ContactSet
		doc      map[string]any // nil means testDoc()
		nilDoc   bool           // pass a nil document instead
		want     string         // JSON
	}{
		"profile.name only": {
			rules: `allow = ["context:profile.name"]`,
			want:  `{"profile": {"name": "Alice"}}`,
		},
		"subtree glob": {
			rules: `allow = ["context:knowledge.cooking.*"]`,
			want: `{"knowledge": {"cooking": {"pasta": {"recipe": "boil", "tips": ["salt", {"secret": "butter"}]},
				"secret": "msg"}}}`,
		},
		"whole subtree": {
			rules: `allow = ["context:profile.address"]`,
			want:  `{"profile": {"address": {"city": "Paris", "street": "rue X"}}}`,
		},
		"deny inside an allowed subtree removes just that leaf": {
			rules: `allow = ["context:knowledge"]
			        deny  = ["context:knowledge.cooking.secret"]`,
			want: `{"knowledge": {"cooking": {"pasta": {"recipe": "boil", "tips": ["salt", {"secret": "butter"}]}},
				"professional": {"go": "yes"}}}`,
		},
		"deny of a subtree inside an allowed one": {
			rules: `allow = ["context:profile.*"]
			        deny  = ["context:profile.address"]`,
			want: `{"profile": {"name": "Alice", "email": "alice@example.org", "phone": "+33 1 23 45 67 89"}}`,
		},
		"everything but": {
			rules: `allow = ["context:*"]
			        deny  = ["context:profile", "context:knowledge.cooking"]`,
			want: `{"knowledge": {"professional": {"go": "yes"}}, "version": 3, "metadata": null}`,
		},
		"allow inside a denied subtree": {
			rules: `allow = ["context:profile.name"]
			        deny  = ["context:profile"]`,
			want: `{"profile": {"name": "Alice"}}`,
		},
		"glob at any depth": {
			rules: `allow = ["context:*.city", "context:*.recipe"]`,
			want:  `{"profile": {"address": {"city": "Paris"}}, "knowledge": {"cooking": {"pasta": {"recipe": "boil"}}}}`,
		},
		"empty maps are dropped": {
			rules: `allow = ["context:preferences"]`,
			want:  `{}`,
		},
		"subtree emptied by denies is dropped": {
			rules: `allow = ["context:profile.address"]
			        deny  = ["context:profile.address.city", "context:profile.address.street"]`,
			want: `{}`,
		},
		"arrays are leaves": {
			rules: `allow = ["context:knowledge.cooking.pasta.tips"]
			        deny  = ["context:knowledge.cooking.pasta.tips.1.secret"]`,
			want: `{"knowledge": {"cooking": {"pasta": {"tips": ["salt", {"secret": "butter"}]}}}}`,
		},
		"array element paths are not looked at": {
			rules: `allow = ["context:knowledge.cooking.pasta.tips.0"]`,
			want:  `{}`,
		},
		"top-level scalars and null": {
			rules: `allow = ["context:version", "context:metadata"]`,
			want:  `{"version": 3, "metadata": null}`,
		},
		"a rule on a child does not share the parent": {
			rules: `allow = ["context:profile.nickname"]`,
			want:  `{}`,
		},
		"keys with dots are never shared": {
			rules: `allow = ["context:profile"]
			        deny  = ["context:profile.email"]`,
			doc:  map[string]any{"profile.email": "x", "profile": map[string]any{"name": "A", "email.work": "y"}},
			want: `{"profile": {"name": "A"}}`,
		},
		"groups: node, friends and contacts together": {
			node: alice, contacts: contacts{alice},
			want: `{"profile": {"name": "Alice", "email": "alice@example.org"},
				"knowledge": {"cooking": {"pasta": {"recipe": "boil", "tips": ["salt", {"secret": "butter"}]}, "secret": "msg"}}}`,
		},
		"groups: deny in one group removes a leaf another allows": {
			node: bob, contacts: contacts{bob},
			want: `{"profile": {"name": "Alice", "address": {"city": "Paris", "street": "rue X"}},
				"knowledge": {"cooking": {"pasta": {"recipe": "boil", "tips": ["salt", {"secret": "butter"}]}, "secret": "msg"}}}`,
		},
		"node block deny of everything": {
			node: carol, contacts: contacts{carol}, want: `{}`,
		},
		"stranger gets nothing": {
			node: stranger, contacts: contacts{alice}, want: `{}`,
		},
		"contact gets nothing by default": {
			rules: `allow = ["messages"]`, want: `{}`,
		},
		"nil document": {
			rules: `allow = ["context:*"]`, nilDoc: true, want: `{}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, node := fixture, tc.node
			if tc.rules != "" {
				r, node = mustParse(t, "rule \"node\" \""+dave+"\" {\n"+tc.rules+"\n}\n"), dave
			}
			doc := tc.doc
			if doc == nil && !tc.nilDoc {
				doc = testDoc()
			}
			got := r.Filter(node, tc.contacts, doc)
			if got == nil {
				t.Fatal("want a non-nil map, got nil")
			}
			var want map[string]any
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatalf("bad want %s: %v", tc.want, err)
			}
			if !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Errorf("want %s, got %s", w, g)
			}
		})
	}
}

func TestFilterDeepCopy(t *testing.T) {
	t.Parallel()
	r := mustParse(t, `rule "node" "`+dave+`" { allow = ["context:*"] }`)
	doc := testDoc()
	got := r.Filter(dave, nil, doc)
	want := testDoc()
	delete(want, "preferences") // an empty map
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("want the whole document but the empty map, got %v", got)
	}
	got["profile"].(map[string]any)["name"] = "Mallory"
	tips := got["knowledge"].(map[string]any)["cooking"].(map[string]any)["pasta"].(map[string]any)["tips"].([]any)
	tips[0] = "sugar"
	tips[1].(map[string]any)["secret"] = "none"
	if !reflect.DeepEqual(doc, testDoc()) {
		t.Errorf("want the document unchanged by changes to the copy, got %v", doc)
	}
}

func TestFilterScope(t *testing.T) {
	t.Parallel()
	r := mustParse(t, `
rule "scope" "default" { allow = ["context:*"] }
rule "scope" "work" {
  allow = ["context:profile", "context:knowledge.professional"]
  deny  = ["context:profile.email", "context:profile.phone"]
}
rule "scope" "none" {}
`)
	tests := map[string]struct {
		scope   string
		want    string // JSON
		wantErr string
	}{
		// Empty maps (preferences) are dropped, as Filter documents.
		"everything": {scope: "default", want: `{"knowledge":{"cooking":{"pasta":{"recipe":"boil","tips":["salt",{"secret":"butter"}]},"secret":"msg"},"professional":{"go":"yes"}},"metadata":null,"profile":{"address":{"city":"Paris","street":"rue X"},"email":"alice@example.org","name":"Alice","phone":"+33 1 23 45 67 89"},"version":3}`},
		"part of the profile and one topic": {scope: "work",
			want: `{"knowledge":{"professional":{"go":"yes"}},"profile":{"address":{"city":"Paris","street":"rue X"},"name":"Alice"}}`},
		"empty scope":   {scope: "none", want: `{}`},
		"unknown scope": {scope: "holiday", wantErr: `unknown AI scope: "holiday"; firewall.hcl defines default, none, work`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := r.FilterScope(tc.scope, testDoc())
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || !errors.Is(err, ErrUnknownScope) {
					t.Fatalf("want error %q (ErrUnknownScope), got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g := mustJSON(t, got); g != tc.want {
				t.Errorf("want %s\n got %s", tc.want, g)
			}
		})
	}
	var none *Rules
	if _, err := none.FilterScope("default", testDoc()); !errors.Is(err, ErrUnknownScope) {
		t.Errorf("nil rules: want ErrUnknownScope, got %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDottedKeyNotSharedBySiblingRule: a key holding a dot must not be
// shared by the rule on the path its name seems to extend. Before, a rule
// on "context:profile.name" also shared profile["name.private_phone"],
// since its path read "context:profile.name.private_phone".
func TestDottedKeyNotSharedBySiblingRule(t *testing.T) {
	t.Parallel()
	doc := func() map[string]any {
		return map[string]any{
			"profile":      map[string]any{"name": "Alice", "name.private_phone": "+33 6 00 00 00 00"},
			"knowledge":    map[string]any{"cooking.secret": map[string]any{"x": "y"}, "cooking": map[string]any{"pasta": "boil"}},
			"profile.name": "top-level dotted",
		}
	}
	tests := map[string]struct {
		allow string
		want  string // JSON
	}{
		"rule on the name":          {allow: `"context:profile.name"`, want: `{"profile":{"name":"Alice"}}`},
		"rule on the whole profile": {allow: `"context:profile"`, want: `{"profile":{"name":"Alice"}}`},
		"rule on a topic":           {allow: `"context:knowledge.cooking"`, want: `{"knowledge":{"cooking":{"pasta":"boil"}}}`},
		"everything":                {allow: `"context:*"`, want: `{"knowledge":{"cooking":{"pasta":"boil"}},"profile":{"name":"Alice"}}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := mustParse(t, `rule "node" "`+dave+`" { allow = [`+tc.allow+`] }
rule "scope" "s" { allow = [`+tc.allow+`] }`)
			if got := mustJSON(t, r.Filter(dave, nil, doc())); got != tc.want {
				t.Errorf("Filter: want %s\n got %s", tc.want, got)
			}
			got, err := r.FilterScope("s", doc())
			if err != nil {
				t.Fatal(err)
			}
			if g := mustJSON(t, got); g != tc.want {
				t.Errorf("FilterScope: want %s\n got %s", tc.want, g)
			}
		})
	}
}
