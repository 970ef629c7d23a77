package dpcv1ref

import (
	"errors"
	"fmt"
	"slices"
)

// ErrContextShape is returned by [ParseContext] for a context D-PC v0.27
// cannot build its PersonalContext from.
//
//lint:ignore ST1005 the text is D-PC v0.27's own error, word for word.
var ErrContextShape = errors.New("Error deserializing context from peer")

// The fields of D-PC v0.27's strict dataclasses (pcm_core.py), built with
// Class(**data): a missing required field or any other key raises.
var (
	profileFields  = dataclass{required: []string{"name", "description"}, optional: []string{"core_values"}}
	bookFields     = dataclass{required: []string{"title", "rating"}, optional: []string{"authors"}}
	sourceFields   = dataclass{optional: []string{"type", "conversation_id", "participants", "timestamp", "consensus_status", "approved_by", "dissenting_opinions", "commit_id", "cultural_perspectives_considered", "confidence_score", "sources_cited", "extraction_model", "extraction_host"}}
	biasFields     = dataclass{optional: []string{"known_biases", "mitigation_strategies", "cultural_blind_spots", "preferred_perspectives"}}
	errNotAnObject = errors.New("'object' has no attribute 'get'")
)

// dataclass is the constructor of one of D-PC's dataclasses.
type dataclass struct{ required, optional []string }

// build checks data the way Class(**data) would.
func (d dataclass) build(class string, data any) error {
	m, ok := data.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: %s() argument after ** must be a mapping, not %T", ErrContextShape, class, data)
	}
	for _, k := range d.required {
		if _, ok := m[k]; !ok {
			return fmt.Errorf("%w: %s.__init__() missing 1 required positional argument: '%s'", ErrContextShape, class, k)
		}
	}
	for k := range m {
		if !slices.Contains(d.required, k) && !slices.Contains(d.optional, k) {
			return fmt.Errorf("%w: %s.__init__() got an unexpected keyword argument '%s'", ErrContextShape, class, k)
		}
	}
	return nil
}

// mapping is data.get(key, {}) where the result must support .get/.items.
func mapping(where string, v any, present bool) (map[string]any, error) {
	if !present {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s: %w", ErrContextShape, where, errNotAnObject)
	}
	return m, nil
}

// ParseContext checks a CONTEXT_RESPONSE's context the way D-PC v0.27's
// PersonalContext.from_dict builds it (dpc-legacy-wire.md, "How D-PC v0.27
// parses a CONTEXT_RESPONSE"): nil when D-PC would accept it, else an error
// wrapping ErrContextShape with the Python exception D-PC would log, after
// which it drops the whole answer.
func ParseContext(context any) error {
	data, ok := context.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: context: %w", ErrContextShape, errNotAnObject)
	}
	if p := data["profile"]; truthy(p) {
		if err := profileFields.build("Profile", p); err != nil {
			return err
		}
	}
	if p := data["preferences"]; truthy(p) {
		if _, ok := p.(map[string]any); !ok {
			return fmt.Errorf("%w: preferences: %w", ErrContextShape, errNotAnObject)
		}
	}
	if _, err := mapping("metadata", data["metadata"], hasKey(data, "metadata")); err != nil {
		return err
	}
	knowledge, err := mapping("knowledge", data["knowledge"], hasKey(data, "knowledge"))
	if err != nil {
		return err
	}
	for name, t := range knowledge {
		topic, ok := t.(map[string]any)
		if !ok {
			return fmt.Errorf("%w: knowledge.%s: %w", ErrContextShape, name, errNotAnObject)
		}
		if err := checkTopic(name, topic); err != nil {
			return err
		}
	}
	if c := data["cognitive_profile"]; truthy(c) {
		cp, ok := c.(map[string]any)
		if !ok {
			return fmt.Errorf("%w: cognitive_profile: %w", ErrContextShape, errNotAnObject)
		}
		if b := cp["bias_profile"]; truthy(b) {
			if err := biasFields.build("BiasAwareness", b); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkTopic(name string, topic map[string]any) error {
	if e, ok := topic["entries"]; ok {
		entries, ok := e.([]any)
		if !ok {
			return fmt.Errorf("%w: knowledge.%s.entries is %T, not a list", ErrContextShape, name, e)
		}
		for i, x := range entries {
			entry, ok := x.(map[string]any)
			if !ok {
				return fmt.Errorf("%w: knowledge.%s.entries[%d]: %w", ErrContextShape, name, i, errNotAnObject)
			}
			if s := entry["source"]; truthy(s) {
				if err := sourceFields.build("KnowledgeSource", s); err != nil {
					return err
				}
			}
		}
	}
	if b := topic["key_books"]; truthy(b) {
		books, ok := b.([]any)
		if !ok {
			return fmt.Errorf("%w: knowledge.%s.key_books is %T, not a list", ErrContextShape, name, b)
		}
		for _, book := range books {
			if err := bookFields.build("Book", book); err != nil {
				return err
			}
		}
	}
	return nil
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}
