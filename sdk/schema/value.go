package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
)

// PathError is a problem with the value at one attribute path.
type PathError struct {
	Path []string
	Err  error
}

func (e *PathError) Error() string {
	return fmt.Sprintf("%s: %v", joinPath(e.Path), e.Err)
}

func (e *PathError) Unwrap() error { return e.Err }

func joinPath(p []string) string {
	if len(p) == 0 {
		return "config"
	}
	var b bytes.Buffer
	for i, s := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// Decode reads the JSON object data into the struct v points to, on top of
// the values already there (the defaults). Unknown keys and missing required
// attributes are errors (*PathError).
func Decode(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%w: Decode needs a pointer to a struct, got %T", ErrUnsupportedType, v)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return &PathError{Err: fmt.Errorf("config is not a JSON object: %w", err)}
	}
	return decodeStruct(obj, rv.Elem(), nil)
}

func decodeStruct(obj map[string]json.RawMessage, sv reflect.Value, path []string) error {
	known := map[string]bool{}
	for _, f := range fields(sv.Type()) {
		known[f.name] = true
		fp := append(append([]string(nil), path...), f.name)
		raw, present := obj[f.name]
		if present && string(raw) == "null" {
			present = false
		}
		fv := sv.Field(f.index)
		switch {
		case !present && f.block:
			if fv.Kind() == reflect.Struct {
				if err := decodeStruct(map[string]json.RawMessage{}, fv, fp); err != nil {
					return err
				}
			}
		case !present && !f.optional:
			return &PathError{Path: fp, Err: fmt.Errorf("the attribute %q is required", f.name)}
		case !present:
		case f.block:
			if err := decodeBlock(raw, fv, fp); err != nil {
				return err
			}
		default:
			// Decode into a fresh value so a list or map replaces the default
			// rather than merging into it.
			nv := reflect.New(fv.Type())
			if err := json.Unmarshal(raw, nv.Interface()); err != nil {
				return &PathError{Path: fp, Err: fmt.Errorf("want %s: %w", typeName(fv.Type()), err)}
			}
			fv.Set(nv.Elem())
		}
	}
	var unknown []string
	for k := range obj {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return &PathError{Path: append(append([]string(nil), path...), unknown[0]),
			Err: fmt.Errorf("unknown attribute %q", unknown[0])}
	}
	return nil
}

func decodeBlock(raw json.RawMessage, fv reflect.Value, path []string) error {
	switch fv.Kind() {
	case reflect.Pointer:
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return &PathError{Path: path, Err: fmt.Errorf("want a block: %w", err)}
		}
		if fv.IsNil() {
			fv.Set(reflect.New(fv.Type().Elem()))
		}
		return decodeStruct(obj, fv.Elem(), path)
	case reflect.Slice:
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return &PathError{Path: path, Err: fmt.Errorf("want a list of blocks: %w", err)}
		}
		out := reflect.MakeSlice(fv.Type(), len(list), len(list))
		for i, obj := range list {
			if err := decodeStruct(obj, out.Index(i), append(append([]string(nil), path...), strconv.Itoa(i))); err != nil {
				return err
			}
		}
		fv.Set(out)
		return nil
	default:
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return &PathError{Path: path, Err: fmt.Errorf("want a block: %w", err)}
		}
		return decodeStruct(obj, fv, path)
	}
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a bool"
	case reflect.Slice:
		return "a list of " + typeName(t.Elem())
	case reflect.Map:
		return "a map of " + typeName(t.Elem())
	case reflect.Float32, reflect.Float64:
		return "a number"
	default:
		return "a whole number"
	}
}

// Encode writes the struct v points to as the JSON object Decode reads.
func Encode(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return []byte("{}"), nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: Encode needs a struct, got %T", ErrUnsupportedType, v)
	}
	return json.Marshal(encodeStruct(rv))
}

func encodeStruct(sv reflect.Value) map[string]any {
	out := map[string]any{}
	for _, f := range fields(sv.Type()) {
		fv := sv.Field(f.index)
		if !f.block {
			// A nil list or map is written as empty, not null: Decode reads
			// null as "absent" and would bring the default back.
			switch {
			case fv.Kind() == reflect.Slice && fv.IsNil():
				out[f.name] = reflect.MakeSlice(fv.Type(), 0, 0).Interface()
			case fv.Kind() == reflect.Map && fv.IsNil():
				out[f.name] = reflect.MakeMap(fv.Type()).Interface()
			default:
				out[f.name] = fv.Interface()
			}
			continue
		}
		switch fv.Kind() {
		case reflect.Pointer:
			if !fv.IsNil() {
				out[f.name] = encodeStruct(fv.Elem())
			}
		case reflect.Slice:
			list := make([]any, fv.Len())
			for i := range fv.Len() {
				list[i] = encodeStruct(fv.Index(i))
			}
			out[f.name] = list
		default:
			out[f.name] = encodeStruct(fv)
		}
	}
	return out
}
