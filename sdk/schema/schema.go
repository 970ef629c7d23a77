package schema

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
)

// ErrUnsupportedType means a config struct field has a type the schema
// cannot describe.
var ErrUnsupportedType = errors.New("unsupported config field type")

// field is one tagged struct field.
type field struct {
	name      string
	index     int
	optional  bool
	block     bool
	help      string
	sensitive bool
}

// fields lists the hcl-tagged fields of struct type t.
func fields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("hcl")
		if !ok || !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "remain" || opts == "label" || name == "" {
			continue
		}
		out = append(out, field{
			name: name, index: i,
			optional:  opts == "optional",
			block:     opts == "block",
			help:      sf.Tag.Get("help"),
			sensitive: sf.Tag.Get("sensitive") == "true",
		})
	}
	return out
}

// FromStruct describes the struct v points to. A nil v gives a nil schema
// (the plugin takes no configuration).
func FromStruct(v any) (*basev1.Schema, error) {
	if v == nil {
		return nil, nil
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%w: config must be a struct, got %s", ErrUnsupportedType, t)
	}
	return structSchema(t, t.Name())
}

func structSchema(t reflect.Type, path string) (*basev1.Schema, error) {
	s := &basev1.Schema{}
	for _, f := range fields(t) {
		ft := t.Field(f.index).Type
		where := path + "." + f.name
		if f.block {
			b, err := blockSchema(f, ft, where)
			if err != nil {
				return nil, err
			}
			s.Blocks = append(s.Blocks, b)
			continue
		}
		ty, err := ctyTypeJSON(ft)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		s.Attributes = append(s.Attributes, &basev1.Attribute{
			Name: f.name, Type: []byte(ty), Required: !f.optional,
			Description: f.help, Sensitive: f.sensitive,
		})
	}
	return s, nil
}

func blockSchema(f field, ft reflect.Type, where string) (*basev1.Block, error) {
	b := &basev1.Block{TypeName: f.name, Description: f.help, Nesting: basev1.Block_NESTING_SINGLE, Required: true}
	switch ft.Kind() {
	case reflect.Pointer:
		b.Required = false
		ft = ft.Elem()
	case reflect.Slice:
		b.Nesting = basev1.Block_NESTING_LIST
		b.Required = false
		ft = ft.Elem()
	}
	if ft.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s: %w: a block must be a struct, *struct or []struct", where, ErrUnsupportedType)
	}
	body, err := structSchema(ft, where)
	if err != nil {
		return nil, err
	}
	b.Body = body
	return b, nil
}

// ctyTypeJSON gives the cty JSON type encoding for a Go type.
func ctyTypeJSON(t reflect.Type) (string, error) {
	switch t.Kind() {
	case reflect.String:
		return `"string"`, nil
	case reflect.Bool:
		return `"bool"`, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return `"number"`, nil
	case reflect.Slice:
		e, err := ctyTypeJSON(t.Elem())
		if err != nil {
			return "", err
		}
		return `["list",` + e + `]`, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return "", fmt.Errorf("%w: map keys must be strings, got %s", ErrUnsupportedType, t)
		}
		e, err := ctyTypeJSON(t.Elem())
		if err != nil {
			return "", err
		}
		return `["map",` + e + `]`, nil
	}
	return "", fmt.Errorf("%w: %s", ErrUnsupportedType, t)
}
