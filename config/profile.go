package config

import (
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Profile is the optional `profile { … }` block: what the node publishes
// about itself on a hub (dpc hub login, dpc profile publish). Nothing else
// is published.
type Profile struct {
	// Name is the display name on the hub. Default: node.name.
	Name string
	// Description is a line about the node, at most 500 characters.
	Description string
	// Expertise maps a topic (1 to 50 of a-z, 0-9, _) to a level 1 to 5;
	// at most 32 topics.
	Expertise map[string]int
	// PublishURIs publishes the node's direct dpc:// URIs, so that whoever
	// finds it on the hub can connect. Default false.
	PublishURIs bool
}

// Bounds of the profile, the same as dpc-hub's.
const (
	maxProfileName    = 100
	maxProfileDesc    = 500
	maxExpertise      = 32
	maxTopicLen       = 50
	maxExpertiseLevel = 5
)

var profileSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "name"}, {Name: "description"}, {Name: "expertise"}, {Name: "publish_uris"},
}}

func decodeProfile(body hcl.Body, ctx *hcl.EvalContext) (Profile, hcl.Diagnostics) {
	var p Profile
	content, diags := body.Content(profileSchema)
	str := func(name string, max int) string {
		a, ok := content.Attributes[name]
		if !ok {
			return ""
		}
		v, d := EvalAttr(a, ctx, cty.String)
		diags = append(diags, d...)
		if d.HasErrors() || v.IsNull() {
			return ""
		}
		s := v.AsString()
		problem := ""
		if n := utf8.RuneCountInString(s); n > max {
			problem = fmt.Sprintf("The profile's %s has %d characters; at most %d are published.", name, n, max)
		} else if !printable(s) {
			problem = fmt.Sprintf("The profile's %s must be one line without control characters.", name)
		}
		if problem != "" {
			diags = append(diags, DiagAt(a.Expr.Range(), "Invalid profile "+name, problem))
			return ""
		}
		return s
	}
	p.Name = str("name", maxProfileName)
	p.Description = str("description", maxProfileDesc)
	if a, ok := content.Attributes["publish_uris"]; ok {
		v, d := EvalAttr(a, ctx, cty.Bool)
		diags = append(diags, d...)
		p.PublishURIs = !d.HasErrors() && !v.IsNull() && v.True()
	}
	if a, ok := content.Attributes["expertise"]; ok {
		v, d := EvalAttr(a, ctx, cty.Map(cty.Number))
		diags = append(diags, d...)
		if !d.HasErrors() && !v.IsNull() {
			p.Expertise, d = expertiseMap(a, v)
			diags = append(diags, d...)
		}
	}
	return p, diags
}

func expertiseMap(a *hcl.Attribute, v cty.Value) (map[string]int, hcl.Diagnostics) {
	m := v.AsValueMap()
	if len(m) > maxExpertise {
		return nil, hcl.Diagnostics{DiagAt(a.Expr.Range(), "Too many expertise topics",
			fmt.Sprintf("The profile lists %d expertise topics; at most %d are published.", len(m), maxExpertise))}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var diags hcl.Diagnostics
	out := map[string]int{}
	for _, k := range keys {
		if !validTopic(k) {
			diags = append(diags, DiagAt(a.Expr.Range(), "Invalid expertise topic",
				fmt.Sprintf("Expertise topic %q: want 1 to %d characters of a-z, 0-9 and _, for example go or machine_learning.", k, maxTopicLen)))
			continue
		}
		n := m[k]
		if n.IsNull() {
			continue
		}
		lvl, acc := n.AsBigFloat().Int64()
		if acc != 0 || lvl < 1 || lvl > maxExpertiseLevel {
			diags = append(diags, DiagAt(a.Expr.Range(), "Invalid expertise level",
				fmt.Sprintf("Expertise %q: level %s; want a whole number from 1 to %d.", k, n.AsBigFloat().String(), maxExpertiseLevel)))
			continue
		}
		out[k] = int(lvl)
	}
	return out, diags
}

func validTopic(k string) bool {
	if k == "" || len(k) > maxTopicLen {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// printable says whether s has no control characters.
func printable(s string) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			return false
		}
	}
	return utf8.ValidString(s)
}
