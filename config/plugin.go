package config

import (
	"fmt"
	"strconv"

	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// ValidatePluginConfig checks p's config block against the schema the plugin
// declares, evaluating expressions in ctx, and returns the value as a JSON
// object for ConfigureRequest.config_json ("{}" for an absent or empty block).
//
// Optional attributes the user did not set, and absent single nested blocks,
// are omitted from the JSON rather than sent as null, so the plugin keeps its
// defaults for them. Absent list blocks are sent as [].
//
// Problems in the block are an *Error wrapping ErrInvalidPluginConfig; a
// schema the host cannot use is an error wrapping ErrInvalidSchema.
func ValidatePluginConfig(p Plugin, schema *basev1.Schema, ctx *hcl.EvalContext) ([]byte, error) {
	if len(schema.GetAttributes()) == 0 && len(schema.GetBlocks()) == 0 {
		if hasContent(p.Config) {
			return nil, NewError(ErrInvalidPluginConfig, hcl.Diagnostics{DiagAt(configRange(p),
				"configuration not allowed", fmt.Sprintf("plugin %s takes no configuration", p.ID()))})
		}
		return []byte("{}"), nil
	}
	spec, err := objectSpec(schema)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", p.ID(), err)
	}
	body := p.Config
	if body == nil {
		// An empty body whose "missing item" position is the plugin block,
		// so a missing required attribute points there.
		body = &hclsyntax.Body{SrcRange: p.DeclRange, EndRange: p.DeclRange}
	}
	val, diags := hcldec.Decode(body, spec, ctx)
	if err := NewError(ErrInvalidPluginConfig, diags); err != nil {
		return nil, err
	}
	val = omitNulls(val, schema)
	if !val.IsWhollyKnown() {
		return nil, fmt.Errorf("%w: plugin %s: config has unknown values", ErrInvalidPluginConfig, p.ID())
	}
	out, err := ctyjson.Marshal(val, val.Type())
	if err != nil {
		return nil, fmt.Errorf("%w: plugin %s: %w", ErrInvalidPluginConfig, p.ID(), err)
	}
	return out, nil
}

// objectSpec builds the hcldec spec for a plugin-declared schema.
func objectSpec(s *basev1.Schema) (hcldec.ObjectSpec, error) {
	spec := hcldec.ObjectSpec{}
	add := func(name string, sp hcldec.Spec) error {
		if !hclsyntax.ValidIdentifier(name) {
			return fmt.Errorf("%w: %q is not a valid attribute or block name", ErrInvalidSchema, name)
		}
		if _, dup := spec[name]; dup {
			return fmt.Errorf("%w: %q is declared twice", ErrInvalidSchema, name)
		}
		spec[name] = sp
		return nil
	}
	for _, a := range s.GetAttributes() {
		ty, err := ctyjson.UnmarshalType(a.GetType())
		if err != nil {
			return nil, fmt.Errorf("%w: attribute %q has type %q: %w", ErrInvalidSchema, a.GetName(), a.GetType(), err)
		}
		if err := add(a.GetName(), &hcldec.AttrSpec{Name: a.GetName(), Type: ty, Required: a.GetRequired()}); err != nil {
			return nil, err
		}
	}
	for _, b := range s.GetBlocks() {
		nested, err := objectSpec(b.GetBody())
		if err != nil {
			return nil, fmt.Errorf("block %q: %w", b.GetTypeName(), err)
		}
		var sp hcldec.Spec
		switch b.GetNesting() {
		case basev1.Block_NESTING_SINGLE:
			sp = &hcldec.BlockSpec{TypeName: b.GetTypeName(), Nested: nested, Required: b.GetRequired()}
		case basev1.Block_NESTING_LIST:
			lsp := &hcldec.BlockListSpec{TypeName: b.GetTypeName(), Nested: nested}
			if b.GetRequired() {
				lsp.MinItems = 1
			}
			sp = lsp
		default:
			return nil, fmt.Errorf("%w: block %q has nesting %v", ErrInvalidSchema, b.GetTypeName(), b.GetNesting())
		}
		if err := add(b.GetTypeName(), sp); err != nil {
			return nil, err
		}
	}
	return spec, nil
}

// omitNulls drops null attributes and absent single blocks from a decoded
// object, following the schema. Lists of blocks become tuples, because
// their elements may now differ in which attributes they have.
func omitNulls(v cty.Value, s *basev1.Schema) cty.Value {
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return v
	}
	m := map[string]cty.Value{}
	for _, a := range s.GetAttributes() {
		if av := v.GetAttr(a.GetName()); !av.IsNull() {
			m[a.GetName()] = av
		}
	}
	for _, b := range s.GetBlocks() {
		bv := v.GetAttr(b.GetTypeName())
		switch {
		case bv.IsNull():
		case !bv.IsKnown():
			m[b.GetTypeName()] = bv // reported below as unknown
		case b.GetNesting() == basev1.Block_NESTING_LIST:
			elems := []cty.Value{}
			for it := bv.ElementIterator(); it.Next(); {
				_, ev := it.Element()
				elems = append(elems, omitNulls(ev, b.GetBody()))
			}
			m[b.GetTypeName()] = cty.TupleVal(elems)
		default:
			m[b.GetTypeName()] = omitNulls(bv, b.GetBody())
		}
	}
	return cty.ObjectVal(m)
}

// hasContent reports whether a config body sets anything.
func hasContent(body hcl.Body) bool {
	switch b := body.(type) {
	case nil:
		return false
	case *hclsyntax.Body:
		return len(b.Attributes) > 0 || len(b.Blocks) > 0
	default:
		attrs, diags := body.JustAttributes() // errors when there are blocks
		return len(attrs) > 0 || diags.HasErrors()
	}
}

// configRange is where to point at p's config as a whole.
func configRange(p Plugin) hcl.Range {
	if p.Config != nil && p.ConfigRange.Filename != "" {
		return p.ConfigRange
	}
	return p.DeclRange
}

// AttributeRange returns where the value named by path is written in p's
// config block, so the host can point a plugin-reported problem at a
// file:line:column. path is like a basev1.Diagnostic attribute_path:
// ["dir"], ["server", "0", "url"] (block list index), or an index or key
// into a list or object value. It returns the range of the value
// expression; when path cannot be followed to the end it returns the
// deepest block found, then the config block, then the plugin block.
func AttributeRange(p Plugin, path []string) hcl.Range {
	fallback := configRange(p)
	body, ok := p.Config.(*hclsyntax.Body)
	if !ok {
		return fallback
	}
	return bodyRange(body, path, fallback)
}

func bodyRange(body *hclsyntax.Body, path []string, fallback hcl.Range) hcl.Range {
	if len(path) == 0 {
		return fallback
	}
	if a, ok := body.Attributes[path[0]]; ok {
		return exprRange(a.Expr, path[1:], a.Expr.Range())
	}
	var blocks []*hclsyntax.Block
	for _, b := range body.Blocks {
		if b.Type == path[0] {
			blocks = append(blocks, b)
		}
	}
	if len(blocks) == 0 {
		return fallback
	}
	b, rest := blocks[0], path[1:]
	if len(rest) > 0 {
		if i, err := strconv.Atoi(rest[0]); err == nil && i >= 0 && i < len(blocks) {
			b, rest = blocks[i], rest[1:]
		}
	}
	return bodyRange(b.Body, rest, b.DefRange())
}

func exprRange(expr hclsyntax.Expression, path []string, fallback hcl.Range) hcl.Range {
	if len(path) == 0 {
		return fallback
	}
	switch e := expr.(type) {
	case *hclsyntax.TupleConsExpr:
		if i, err := strconv.Atoi(path[0]); err == nil && i >= 0 && i < len(e.Exprs) {
			return exprRange(e.Exprs[i], path[1:], e.Exprs[i].Range())
		}
	case *hclsyntax.ObjectConsExpr:
		for _, item := range e.Items {
			if objectKey(item.KeyExpr) == path[0] {
				return exprRange(item.ValueExpr, path[1:], item.ValueExpr.Range())
			}
		}
	}
	return fallback
}

// objectKey is the literal key of an object item ("" when not literal).
func objectKey(expr hclsyntax.Expression) string {
	if k := hcl.ExprAsKeyword(expr); k != "" {
		return k
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}
