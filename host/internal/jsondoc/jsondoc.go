package jsondoc

// Copy returns a deep copy of doc. It never returns nil: a nil doc gives an
// empty map.
func Copy(doc map[string]any) map[string]any {
	m := make(map[string]any, len(doc))
	for k, v := range doc {
		m[k] = CopyValue(v)
	}
	return m
}

// CopyValue returns a deep copy of a JSON-like value: maps (map[string]any)
// and slices ([]any) are copied at every depth; any other value is returned
// as it is, as strings, numbers, booleans and nil cannot be changed in place.
func CopyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return Copy(v)
	case []any:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = CopyValue(e)
		}
		return s
	}
	return v
}
