package intel

// D-PC Messenger v1 peers read and write context and prompts in shapes of
// their own: see dpc-legacy-wire.md §4.6 and proto/dptp.md ("Differences
// from D-PC v1").

import (
	"maps"
	"strings"

	"github.com/dpc-go/dpc/host/internal/dptp"
)

// v1ContextLayout is the shared context as a D-PC v1 peer reads it: every
// top-level field of its Personal Context Model, empty as D-PC sends them
// for a peer with no rules, with what the firewall shares laid over them,
// shaped by v1Shape. Top-level fields D-PC does not know are left out.
func v1ContextLayout(shared map[string]any) map[string]any {
	out := map[string]any{
		"profile": nil, "knowledge": map[string]any{}, "preferences": nil, "cognitive_profile": nil,
		"version": nil, "last_commit_id": nil, "last_commit_message": nil, "last_commit_timestamp": nil,
		"commit_history": []any{}, "metadata": map[string]any{},
	}
	for k, v := range shared {
		if _, ok := out[k]; ok {
			out[k] = v
		}
	}
	return v1Shape(out)
}

// The classes D-PC v0.27 builds with Class(**data) (pcm_core.py): a
// missing required field or any key the class lacks makes it drop the
// whole answer (dpc-legacy-wire.md, "How D-PC v0.27 parses a
// CONTEXT_RESPONSE"). A required field is filled with its empty value.
var (
	v1Profile = v1Class{fields: []string{"name", "description", "core_values"}, required: map[string]any{"name": "", "description": ""}}
	v1Book    = v1Class{fields: []string{"title", "rating", "authors"}, required: map[string]any{"title": "", "rating": 0}}
	v1Source  = v1Class{fields: []string{"type", "conversation_id", "participants", "timestamp", "consensus_status", "approved_by",
		"dissenting_opinions", "commit_id", "cultural_perspectives_considered", "confidence_score", "sources_cited",
		"extraction_model", "extraction_host"}}
	v1Bias = v1Class{fields: []string{"known_biases", "mitigation_strategies", "cultural_blind_spots", "preferred_perspectives"}}
)

// v1Class is one of D-PC's strict dataclasses.
type v1Class struct {
	fields   []string
	required map[string]any // field: the empty value that fills it
}

// shape returns v as an object the class accepts: only its fields, the
// required ones filled; nil for a value that is not an object or is empty
// (D-PC builds no object from a falsy value).
func (c v1Class) shape(v any) any {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out := map[string]any{}
	for _, f := range c.fields {
		if x, ok := m[f]; ok {
			out[f] = x
		}
	}
	if len(out) == 0 {
		return nil
	}
	for f, empty := range c.required {
		if _, ok := out[f]; !ok {
			out[f] = empty
		}
	}
	return out
}

// v1Shape makes a context D-PC v1's PersonalContext.from_dict can build,
// revealing nothing more: objects the firewall cut keep only the fields
// D-PC's classes have, required ones filled with empty values; values of
// a type D-PC would fail on are left out. doc is not modified.
func v1Shape(doc map[string]any) map[string]any {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		out[k] = v
	}
	out["profile"] = v1Profile.shape(doc["profile"])
	// D-PC reads these with .get: anything but an object fails.
	for _, k := range []string{"preferences", "cognitive_profile"} {
		if _, ok := doc[k].(map[string]any); !ok {
			out[k] = nil
		}
	}
	if m, ok := doc["metadata"].(map[string]any); ok {
		out["metadata"] = m
	} else {
		out["metadata"] = map[string]any{}
	}
	if h, ok := doc["commit_history"].([]any); ok {
		out["commit_history"] = h
	} else {
		out["commit_history"] = []any{}
	}
	if cp, ok := out["cognitive_profile"].(map[string]any); ok {
		if _, has := cp["bias_profile"]; has {
			cp = maps.Clone(cp)
			cp["bias_profile"] = v1Bias.shape(cp["bias_profile"])
			out["cognitive_profile"] = cp
		}
	}
	knowledge := map[string]any{}
	if in, ok := doc["knowledge"].(map[string]any); ok {
		for name, t := range in {
			if topic, ok := t.(map[string]any); ok {
				knowledge[name] = v1Topic(topic)
			}
		}
	}
	out["knowledge"] = knowledge
	return out
}

// v1Topic shapes a knowledge topic: D-PC reads its fields with .get, but
// builds each entry's source and each key book strictly.
func v1Topic(topic map[string]any) map[string]any {
	out := maps.Clone(topic)
	if e, has := topic["entries"]; has {
		var entries []any
		list, _ := e.([]any)
		for _, x := range list {
			entry, ok := x.(map[string]any)
			if !ok {
				continue
			}
			if _, has := entry["source"]; has {
				entry = maps.Clone(entry)
				entry["source"] = v1Source.shape(entry["source"])
			}
			entries = append(entries, entry)
		}
		out["entries"] = entries
		if entries == nil {
			out["entries"] = []any{}
		}
	}
	if b, has := topic["key_books"]; has {
		var books []any
		list, _ := b.([]any)
		for _, x := range list {
			if book := v1Book.shape(x); book != nil {
				books = append(books, book)
			}
		}
		out["key_books"] = books // nil (null) when none: D-PC's default
	}
	return out
}

// withoutEmpty drops the empty top-level fields of a v1 peer's context
// (null, {}, []), so that a context sharing nothing is empty.
func withoutEmpty(doc map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range doc {
		switch v := v.(type) {
		case nil:
			continue
		case map[string]any:
			if len(v) == 0 {
				continue
			}
		case []any:
			if len(v) == 0 {
				continue
			}
		}
		out[k] = v
	}
	return out
}

// v1Prompt is a prompt as D-PC v1 sends it: one string, the context and
// instructions first, then "USER QUERY: …".
func v1Prompt(msgs []dptp.PromptMessage) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteString("\n\n")
		}
		switch m.Role {
		case "user":
			b.WriteString("USER QUERY: " + m.Content)
		case "assistant":
			b.WriteString("ASSISTANT: " + m.Content)
		default:
			b.WriteString(m.Content)
		}
	}
	return b.String()
}
