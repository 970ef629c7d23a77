package personal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dpc-go/dpc/config"
)

// Set sets the value at path in doc, as `dpc context set PATH VALUE` does.
// path is dotted, such as "profile.name" or "knowledge.cooking.summary";
// objects missing on the way (or null) are created. It cannot index into
// arrays, nor name a key that holds a dot. value is taken as JSON if it is
// valid JSON (`42`, `true`, `["a","b"]`, `{"x":1}`, `"quoted"`), else as a
// plain string. A path that goes through something other than an object is
// an error wrapping ErrInvalidPath. The result must still be a valid
// personal context (see [Parse]); if it is not, doc is left as it was and
// the error is a [*config.Error] wrapping ErrInvalidContext.
func Set(doc map[string]any, path, value string) error {
	if doc == nil {
		return fmt.Errorf("%w: no document to set %q in", ErrInvalidContext, path)
	}
	segs, err := splitPath(path)
	if err != nil {
		return err
	}
	v, isJSON := parseValue(value)

	// undo puts back the first thing changed, which takes everything
	// created below it away with it.
	var undo func()
	parent := doc
	for i, seg := range segs[:len(segs)-1] {
		switch cur := parent[seg].(type) {
		case map[string]any:
			parent = cur
		case nil:
			if undo == nil {
				undo = restorer(parent, seg)
			}
			m := map[string]any{}
			parent[seg] = m
			parent = m
		case []any:
			if undo != nil {
				undo()
			}
			return fmt.Errorf("%w %q: %s is an array, and paths cannot index into arrays; set the whole array as JSON, e.g. '[\"a\", \"b\"]'",
				ErrInvalidPath, path, strings.Join(segs[:i+1], "."))
		default:
			if undo != nil {
				undo()
			}
			return fmt.Errorf("%w %q: %s is %s, not an object, so it has no %q",
				ErrInvalidPath, path, strings.Join(segs[:i+1], "."), describe(cur), segs[i+1])
		}
	}
	last := segs[len(segs)-1]
	if undo == nil {
		undo = restorer(parent, last)
	}
	parent[last] = v

	problems := validate(doc)
	if len(problems) == 0 {
		return nil
	}
	undo()
	for i, p := range problems {
		if p.wrongType && hasPrefix(p.path, segs) {
			problems[i].detail += " " + valueHint(value, v, isJSON)
		}
	}
	return config.NewError(ErrInvalidContext, diagnose(problems, noPosition))
}

// splitPath splits a dotted path into its keys.
func splitPath(path string) ([]string, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: the path is empty; name a value such as profile.name", ErrInvalidPath)
	}
	segs := strings.Split(path, ".")
	for i, s := range segs {
		switch {
		case s == "":
			return nil, fmt.Errorf("%w %q: key %d is empty; keys are separated by single dots, with none at the start or end",
				ErrInvalidPath, path, i+1)
		case strings.ContainsAny(s, "[]"):
			return nil, fmt.Errorf("%w %q: %q looks like an array index, and paths cannot index into arrays; set the whole array as JSON, e.g. '[\"a\", \"b\"]'",
				ErrInvalidPath, path, s)
		}
	}
	return segs, nil
}

// parseValue returns s decoded as one JSON value if it is one, else s
// itself; and whether it was JSON.
func parseValue(s string) (any, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return s, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return s, false
	}
	return v, true
}

// restorer returns a function that puts m[key] back as it is now.
func restorer(m map[string]any, key string) func() {
	old, had := m[key]
	return func() {
		if had {
			m[key] = old
		} else {
			delete(m, key)
		}
	}
}

// hasPrefix reports whether a problem's path starts with the keys Set was
// given, i.e. whether the problem is in the value just set.
func hasPrefix(path []any, segs []string) bool {
	if len(path) < len(segs) {
		return false
	}
	for i, s := range segs {
		if path[i] != s {
			return false
		}
	}
	return true
}

// valueHint says how Set read a value that turned out to have the wrong
// type, and how to write what was probably meant.
func valueHint(raw string, v any, isJSON bool) string {
	if !isJSON {
		return "(The value is not valid JSON, so it was taken as a string.)"
	}
	switch v.(type) {
	case json.Number, bool, nil:
		quoted, _ := json.Marshal(raw)
		return fmt.Sprintf("(The value %s was read as JSON; to set it as a string, quote it: %s.)", raw, quoted)
	}
	return "(The value was read as JSON.)"
}
