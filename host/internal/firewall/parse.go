package firewall

import (
	"github.com/dpc-go/dpc/config"
	"github.com/dpc-go/dpc/sdk/dpcuri"

	"fmt"
	"math"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// ContactsGroup is the built-in group of every peer the user added or
// accepted; the host supplies its members as a [ContactSet].
const ContactsGroup = "contacts"

// IntroducedGroup is the built-in group of every node that at least one
// current contact vouched for with an unexpired signed introduction (dpc
// introduce); the host supplies its members as an [IntroducedSet].
const IntroducedGroup = "introduced"

var (
	rootSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "group", LabelNames: []string{"name"}},
		{Type: "rule", LabelNames: []string{"kind", "name"}},
	}}
	groupSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "members"}}}
	ruleSchema  = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "allow"}, {Name: "deny"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "files"}},
	}
	filesSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "max_size_mb"}, {Name: "ask_above_mb"}, {Name: "allowed_types"}}}
)

// maxSizeMB keeps max_size_mb·2^20 (and ask_above_mb·2^20) within an int64.
const maxSizeMB = math.MaxInt64 >> 20

// Parse reads a firewall file. filename is used in error messages and in
// [Decision.Rule]. Every problem is reported, each with its file:line:column,
// in an [*config.Error] wrapping ErrInvalidRules.
func Parse(src []byte, filename string) (*Rules, error) {
	r, diags := parse(src, filename)
	if err := config.NewError(ErrInvalidRules, diags); err != nil {
		return nil, err
	}
	return r, nil
}

func parse(src []byte, filename string) (*Rules, hcl.Diagnostics) {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		// Decoding a broken file would only add confusing follow-on errors.
		return nil, diags
	}
	content, d := f.Body.Content(rootSchema)
	diags = append(diags, d...)

	r := &Rules{members: map[string]map[string]bool{}, nodes: map[string]*block{}, scopes: map[string]*block{}}
	// Groups first, so that a rule may come before the group it names.
	groupDefs := map[string]hcl.Range{}
	for _, b := range content.Blocks {
		if b.Type != "group" {
			continue
		}
		name := b.Labels[0]
		switch {
		case name == ContactsGroup:
			diags = append(diags, config.DiagAt(b.LabelRanges[0], "Reserved group name",
				`"contacts" is built in: every peer you added or accepted is a member, so it cannot be declared; write rules for it with rule "group" "contacts" { … }.`))
			continue
		case name == IntroducedGroup:
			diags = append(diags, config.DiagAt(b.LabelRanges[0], "Reserved group name",
				`"introduced" is built in: every node a contact of yours vouched for (dpc introduce) is a member, so it cannot be declared; write rules for it with rule "group" "introduced" { … }.`))
			continue
		case !validGroupName(name):
			// Still declared below, so that rules naming it do not add
			// an "Undeclared group" error to this one.
			diags = append(diags, config.DiagAt(b.LabelRanges[0], "Invalid group name",
				fmt.Sprintf("%q is not a valid group name; use 1 to 64 lower-case letters, digits, '-' and '_', starting with a letter or digit.", name)))
		}
		if prev, ok := groupDefs[name]; ok {
			diags = append(diags, config.DiagAt(b.DefRange, "Duplicate group block",
				fmt.Sprintf("A group named %q was already declared at %s.", name, config.Pos(prev))))
			continue
		}
		groupDefs[name] = b.DefRange
		members, d := decodeGroup(b.Body)
		diags = append(diags, d...)
		r.members[name] = members
	}

	ruleDefs := map[[2]string]hcl.Range{}
	for _, b := range content.Blocks {
		if b.Type != "rule" {
			continue
		}
		kind, name := b.Labels[0], b.Labels[1]
		switch kind {
		case "group":
			if _, ok := groupDefs[name]; !ok && name != ContactsGroup && name != IntroducedGroup {
				diags = append(diags, config.DiagAt(b.LabelRanges[1], "Undeclared group",
					fmt.Sprintf(`No group %q is declared; declare it with group %q { members = [...] }, or use the built-in group "contacts" or "introduced".`, name, name)))
				continue
			}
		case "node":
			if !dpcuri.ValidNodeID(name) {
				diags = append(diags, config.DiagAt(b.LabelRanges[1], "Invalid node_id", nodeIDProblem(name)))
				continue
			}
		case "scope":
			if !validGroupName(name) {
				diags = append(diags, config.DiagAt(b.LabelRanges[1], "Invalid scope name",
					fmt.Sprintf("%q is not a valid scope name; use 1 to 64 lower-case letters, digits, '-' and '_', starting with a letter or digit.", name)))
				continue
			}
		default:
			diags = append(diags, config.DiagAt(b.LabelRanges[0], "Unknown rule kind",
				fmt.Sprintf(`%q is not a rule kind; valid kinds are "group", "node" and "scope".`, kind)))
			continue
		}
		key := [2]string{kind, name}
		if prev, ok := ruleDefs[key]; ok {
			diags = append(diags, config.DiagAt(b.DefRange, "Duplicate rule block",
				fmt.Sprintf("rule %q %q was already defined at %s; put all its patterns in one block.", kind, name, config.Pos(prev))))
			continue
		}
		ruleDefs[key] = b.DefRange
		rb, d := decodeRule(b)
		diags = append(diags, d...)
		switch kind {
		case "node":
			r.nodes[name] = rb
		case "scope":
			diags = append(diags, checkScope(rb)...)
			r.scopes[name] = rb
		default:
			r.groups = append(r.groups, rb)
		}
	}
	return r, diags
}

// checkScope reports what a scope block may not hold: an AI scope only
// selects parts of the user's own context, so it has only "context:"
// patterns and no files block.
func checkScope(b *block) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, p := range b.patterns {
		if !strings.HasPrefix(p.text, ContextPrefix) {
			diags = append(diags, config.DiagAt(p.rng, "Invalid scope resource",
				fmt.Sprintf(`A scope selects what of your own context your AI sees, so it takes only "context:<path>" patterns, not %q.`, p.text)))
		}
	}
	if b.files != nil {
		diags = append(diags, config.DiagAt(b.rng, "Invalid files block", "A scope has no files block: it only selects context."))
	}
	return diags
}

func decodeGroup(body hcl.Body) (map[string]bool, hcl.Diagnostics) {
	content, diags := body.Content(groupSchema)
	members := map[string]bool{}
	a, ok := content.Attributes["members"]
	if !ok {
		return members, diags
	}
	ids, ranges, d := evalStrings(a)
	diags = append(diags, d...)
	first := map[string]int{}
	for i, id := range ids {
		switch j, dup := first[id]; {
		case !dpcuri.ValidNodeID(id):
			diags = append(diags, config.DiagAt(ranges[i], "Invalid node_id", nodeIDProblem(id)))
		case dup:
			diags = append(diags, config.DiagAt(ranges[i], "Duplicate member",
				fmt.Sprintf("%q is already listed at %s.", id, config.Pos(ranges[j]))))
		default:
			first[id] = i
			members[id] = true
		}
	}
	return members, diags
}

func decodeRule(b *hcl.Block) (*block, hcl.Diagnostics) {
	rb := &block{kind: b.Labels[0], name: b.Labels[1], rng: b.DefRange}
	content, diags := b.Body.Content(ruleSchema)
	seen := map[string]pattern{}
	// allow before deny whatever the order in the file, so that messages
	// about a pattern in both lists always read the same way.
	for _, attr := range []string{"allow", "deny"} {
		a, ok := content.Attributes[attr]
		if !ok {
			continue
		}
		texts, ranges, d := evalStrings(a)
		diags = append(diags, d...)
		for i, text := range texts {
			if p := patternProblem(text); p != "" {
				diags = append(diags, config.DiagAt(ranges[i], "Invalid resource", p+"."))
				continue
			}
			p := pattern{text: text, allow: attr == "allow", rank: specificity(text), rng: ranges[i]}
			if prev, dup := seen[text]; dup {
				detail := fmt.Sprintf("%q is already listed at %s.", text, config.Pos(prev.rng))
				if prev.allow != p.allow {
					detail = fmt.Sprintf("%q is both allowed (at %s) and denied; keep one.", text, config.Pos(prev.rng))
				}
				diags = append(diags, config.DiagAt(ranges[i], "Duplicate pattern", detail))
				continue
			}
			seen[text] = p
			rb.patterns = append(rb.patterns, p)
		}
	}
	for i, c := range content.Blocks {
		if i > 0 {
			diags = append(diags, config.DiagAt(c.DefRange, "Duplicate files block",
				fmt.Sprintf("Only one files block is allowed in a rule block; the first was defined at %s.",
					config.Pos(content.Blocks[0].DefRange))))
			continue
		}
		l, d := decodeFiles(c.Body)
		diags = append(diags, d...)
		rb.files = &l
	}
	return rb, diags
}

func decodeFiles(body hcl.Body) (FileLimits, hcl.Diagnostics) {
	l := defaultLimits()
	content, diags := body.Content(filesSchema)
	// In a fixed order, so that errors are listed the same way every time.
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"max_size_mb", &l.MaxSizeBytes}, {"ask_above_mb", &l.AskAboveBytes}} {
		if a, ok := content.Attributes[f.name]; ok {
			diags = append(diags, decodeMiB(a, f.dst)...)
		}
	}
	if a, ok := content.Attributes["allowed_types"]; ok {
		types, ranges, d := evalStrings(a)
		diags = append(diags, d...)
		if !d.HasErrors() && types != nil {
			if len(types) == 0 {
				diags = append(diags, config.DiagAt(a.Expr.Range(), "Invalid allowed_types",
					`allowed_types must list at least one type, e.g. ["image/*", "application/pdf"], or ["*"] for any; to refuse files, do not allow "files".`))
			}
			l.AllowedTypes = nil
			for i, t := range types {
				if !validMIMEPattern(t) {
					diags = append(diags, config.DiagAt(ranges[i], "Invalid MIME type",
						fmt.Sprintf(`%q is not a MIME type pattern; want "*", a type such as "application/pdf", or "image/*".`, t)))
					continue
				}
				l.AllowedTypes = append(l.AllowedTypes, strings.ToLower(t))
			}
		}
	}
	return l, diags
}

// decodeMiB sets *dst to the bytes of a whole number of MiB (0 meaning no
// limit); a null value leaves *dst as it was.
func decodeMiB(a *hcl.Attribute, dst *int64) hcl.Diagnostics {
	v, diags := config.EvalAttr(a, nil, cty.Number)
	if diags.HasErrors() || v.IsNull() {
		return diags
	}
	bf := v.AsBigFloat()
	mb, acc := bf.Int64()
	switch {
	case bf.Sign() < 0:
		diags = append(diags, config.DiagAt(a.Expr.Range(), "Invalid "+a.Name,
			fmt.Sprintf("%s must be 0 (unlimited) or a positive number of MiB; got %s.", a.Name, bf.Text('g', 10))))
	case !bf.IsInt() || acc != 0 || mb > maxSizeMB:
		diags = append(diags, config.DiagAt(a.Expr.Range(), "Invalid "+a.Name,
			fmt.Sprintf("%s must be a whole number of MiB from 0 (unlimited) to %d; got %s.", a.Name, int64(maxSizeMB), bf.Text('g', 10))))
	default:
		*dst = mb << 20
	}
	return diags
}

// evalStrings evaluates a list of strings, returning each element with its
// range. A null list is returned as nil, like an absent attribute.
func evalStrings(a *hcl.Attribute) ([]string, []hcl.Range, hcl.Diagnostics) {
	v, diags := config.EvalAttr(a, nil, cty.List(cty.String))
	if diags.HasErrors() || v.IsNull() {
		return nil, nil, diags
	}
	out := []string{}
	var ranges []hcl.Range
	for i, e := range v.AsValueSlice() {
		if e.IsNull() {
			diags = append(diags, config.DiagAt(elementRange(a.Expr, i), "Null list element",
				fmt.Sprintf("The elements of %q must be strings, not null.", a.Name)))
			continue
		}
		out = append(out, e.AsString())
		ranges = append(ranges, elementRange(a.Expr, i))
	}
	return out, ranges, diags
}

// elementRange is the range of element i of a list literal, or of the whole
// expression when it is not a literal.
func elementRange(expr hcl.Expression, i int) hcl.Range {
	if t, ok := expr.(*hclsyntax.TupleConsExpr); ok && i < len(t.Exprs) {
		return t.Exprs[i].Range()
	}
	return expr.Range()
}

func nodeIDProblem(id string) string {
	return fmt.Sprintf(`%q is not a node_id; want "dpc-node-" followed by 32 lower-case hex characters.`, id)
}

// validGroupName accepts the same names as plugin names: 1 to 64 lower-case
// letters, digits, '-' and '_', starting with a letter or digit.
func validGroupName(name string) bool {
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

// validMIMEPattern accepts "*", "*/*", "type/*" and "type/subtype", where
// type and subtype are MIME tokens.
func validMIMEPattern(t string) bool {
	if t == "*" || t == "*/*" {
		return true
	}
	typ, sub, ok := strings.Cut(t, "/")
	return ok && mimeToken(typ) && (sub == "*" || mimeToken(sub))
}

// mimeToken reports whether s is a non-empty RFC 2045 token.
func mimeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=*`, c) >= 0 {
			return false
		}
	}
	return true
}
