package config

import (
	"errors"
	"fmt"
	"strings"

	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var (
	rootSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "node"},
		{Type: "api"},
		{Type: "profile"},
		{Type: "plugin", LabelNames: []string{"kind", "name"}},
	}}
	nodeSchema   = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "name"}, {Name: "listen"}, {Name: "dpc_v1"}}}
	apiSchema    = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "listen"}}}
	pluginSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "enabled"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "config"}},
	}
)

// kinds maps the plugin kinds a block may name to their proto enum.
var kinds = map[string]basev1.Kind{
	"transport": basev1.Kind_KIND_TRANSPORT,
	"llm":       basev1.Kind_KIND_LLM,
	"backup":    basev1.Kind_KIND_BACKUP,
	"hub":       basev1.Kind_KIND_HUB,
}

const validKinds = "transport, llm, backup and hub"

// ParseKind returns the proto kind a plugin block's kind label names.
func ParseKind(kind string) (basev1.Kind, bool) {
	k, ok := kinds[kind]
	return k, ok
}

// parseFile decodes dpc.hcl. It returns the node/api values the file sets,
// as flat koanf keys, the plugin blocks and the profile block.
func parseFile(src []byte, path string, ctx *hcl.EvalContext) (map[string]any, []Plugin, Profile, hcl.Diagnostics) {
	src, lifted, diags := liftOneLineConfigs(src, path)
	f, d := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags = append(diags, d...); diags.HasErrors() {
		// Decoding a broken file would only add confusing follow-on errors.
		return nil, nil, Profile{}, diags
	}
	content, d := f.Body.Content(rootSchema)
	diags = append(diags, d...)

	values := map[string]any{}
	var plugins []Plugin
	var profile Profile
	first := map[string]*hcl.Block{} // first node/api/profile block, or plugin block by name
	for _, b := range content.Blocks {
		switch b.Type {
		case "profile":
			if prev, ok := first[b.Type]; ok {
				diags = append(diags, DiagAt(b.DefRange, "Duplicate profile block",
					fmt.Sprintf("Only one profile block is allowed; the first was defined at %s.", Pos(prev.DefRange))))
				continue
			}
			first[b.Type] = b
			var d hcl.Diagnostics
			profile, d = decodeProfile(b.Body, ctx)
			diags = append(diags, d...)
		case "node", "api":
			if prev, ok := first[b.Type]; ok {
				diags = append(diags, DiagAt(b.DefRange, "Duplicate "+b.Type+" block",
					fmt.Sprintf("Only one %s block is allowed; the first was defined at %s.", b.Type, Pos(prev.DefRange))))
				continue
			}
			first[b.Type] = b
			if b.Type == "node" {
				diags = append(diags, decodeNode(b.Body, ctx, values)...)
			} else {
				diags = append(diags, decodeAPI(b.Body, ctx, values)...)
			}
		case "plugin":
			p, d := decodePlugin(b, ctx)
			diags = append(diags, d...)
			if c, ok := lifted[b.DefRange.Start.Line]; ok && p.Config == nil {
				p.Config, p.ConfigRange = c.body, c.defRange
			}
			key := "plugin " + p.Name
			if prev, ok := first[key]; ok {
				diags = append(diags, DiagAt(b.DefRange, "Duplicate plugin block",
					fmt.Sprintf("A plugin named %q (%s/%s) was already declared at %s; plugin names must be unique across kinds.",
						p.Name, prev.Labels[0], prev.Labels[1], Pos(prev.DefRange))))
				continue
			}
			first[key] = b
			plugins = append(plugins, p)
		}
	}
	return values, plugins, profile, diags
}

func decodeNode(body hcl.Body, ctx *hcl.EvalContext, values map[string]any) hcl.Diagnostics {
	content, diags := body.Content(nodeSchema)
	if a, ok := content.Attributes["name"]; ok {
		v, d := EvalAttr(a, ctx, cty.String)
		diags = append(diags, d...)
		if !d.HasErrors() && !v.IsNull() {
			values[keyNodeName] = v.AsString()
		}
	}
	if a, ok := content.Attributes["dpc_v1"]; ok {
		v, d := EvalAttr(a, ctx, cty.Bool)
		diags = append(diags, d...)
		if !d.HasErrors() && !v.IsNull() {
			values[keyNodeDPCv1] = v.True()
		}
	}
	if a, ok := content.Attributes["listen"]; ok {
		v, d := EvalAttr(a, ctx, cty.List(cty.String))
		diags = append(diags, d...)
		if d.HasErrors() || v.IsNull() {
			return diags
		}
		listen := []string{}
		for i, e := range v.AsValueSlice() {
			p := `A listen address must not be null; want for example "0.0.0.0:8888".`
			if !e.IsNull() {
				listen = append(listen, e.AsString())
				p = listenProblem(e.AsString())
			}
			if p != "" {
				diags = append(diags, DiagAt(elementRange(a.Expr, i), "Invalid listen address", strings.TrimSuffix(p, ".")+"."))
			}
		}
		if !diags.HasErrors() {
			values[keyNodeListen] = listen
		}
	}
	return diags
}

func decodeAPI(body hcl.Body, ctx *hcl.EvalContext, values map[string]any) hcl.Diagnostics {
	content, diags := body.Content(apiSchema)
	if a, ok := content.Attributes["listen"]; ok {
		v, d := EvalAttr(a, ctx, cty.String)
		if diags = append(diags, d...); d.HasErrors() || v.IsNull() {
			return diags
		}
		if p := apiListenProblem(v.AsString()); p != "" {
			return append(diags, DiagAt(a.Expr.Range(), "Invalid listen address", p+"."))
		}
		values[keyAPIListen] = v.AsString()
	}
	return diags
}

// EvalAttr evaluates a and converts it to ty, with the same wording hcldec
// uses for plugin config. Null is returned as is: like an absent attribute,
// it means "use the default".
func EvalAttr(a *hcl.Attribute, ctx *hcl.EvalContext, ty cty.Type) (cty.Value, hcl.Diagnostics) {
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	v, err := convert.Convert(v, ty)
	if err == nil && !v.IsWhollyKnown() {
		err = errors.New("the value must be known")
	}
	if err != nil {
		return cty.NilVal, append(diags, &hcl.Diagnostic{
			Severity:    hcl.DiagError,
			Summary:     "Incorrect attribute value type",
			Detail:      fmt.Sprintf("Inappropriate value for attribute %q: %s.", a.Name, err),
			Subject:     a.Expr.Range().Ptr(),
			Context:     hcl.RangeBetween(a.NameRange, a.Expr.Range()).Ptr(),
			Expression:  a.Expr,
			EvalContext: ctx,
		})
	}
	return v, diags
}

func decodePlugin(b *hcl.Block, ctx *hcl.EvalContext) (Plugin, hcl.Diagnostics) {
	p := Plugin{Kind: b.Labels[0], Name: b.Labels[1], Enabled: true, DeclRange: b.DefRange}
	var diags hcl.Diagnostics
	if _, ok := kinds[p.Kind]; !ok {
		diags = append(diags, DiagAt(b.LabelRanges[0], "Unknown plugin kind",
			fmt.Sprintf("%q is not a plugin kind; valid kinds are %s.", p.Kind, validKinds)))
	}
	if !validName(p.Name) {
		diags = append(diags, DiagAt(b.LabelRanges[1], "Invalid plugin name", nameProblem(p.Name)))
	}
	content, d := b.Body.Content(pluginSchema)
	diags = append(diags, d...)
	if a, ok := content.Attributes["enabled"]; ok {
		v, d := EvalAttr(a, ctx, cty.Bool)
		if diags = append(diags, d...); !d.HasErrors() && !v.IsNull() {
			p.Enabled = v.True()
		}
	}
	for i, c := range content.Blocks {
		if i > 0 {
			diags = append(diags, DiagAt(c.DefRange, "Duplicate config block",
				fmt.Sprintf("Only one config block is allowed in a plugin block; the first was defined at %s.",
					Pos(content.Blocks[0].DefRange))))
			continue
		}
		p.Config, p.ConfigRange = c.Body, c.DefRange
	}
	return p, diags
}

// validName accepts names that are safe in a file name (dpc-plugin-<name>)
// and unambiguous on case-insensitive file systems.
func validName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '-' || c == '_')) {
			return false
		}
	}
	return true
}

func nameProblem(name string) string {
	return fmt.Sprintf("%q is not a valid plugin name; use 1 to 64 lower-case letters, digits, '-' and '_', starting with a letter or digit.", name)
}

// elementRange is the range of element i of a list literal, or of the whole
// expression when it is not a literal.
func elementRange(expr hcl.Expression, i int) hcl.Range {
	if t, ok := expr.(*hclsyntax.TupleConsExpr); ok && i < len(t.Exprs) {
		return t.Exprs[i].Range()
	}
	return expr.Range()
}
