package firewall

import (
	"github.com/dpc-go/dpc/config"
	"github.com/dpc-go/dpc/host/internal/jsondoc"

	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Rules are a parsed firewall file. They never change once parsed, so they
// are safe for concurrent use. A nil *Rules denies everything.
type Rules struct {
	// members maps each declared group to its node_ids.
	members map[string]map[string]bool
	// nodes holds the rule "node" blocks by node_id.
	nodes map[string]*block
	// groups holds the rule "group" blocks in file order.
	groups []*block
	// scopes holds the rule "scope" blocks by name: what of the user's own
	// context goes into prompts of the user's own AI.
	scopes map[string]*block
	// introduced answers for the built-in group "introduced"; the engine
	// sets it (SetIntroduced) on the rules it holds. Nil: no members.
	introduced IntroducedSet
}

// block is one rule block.
type block struct {
	kind, name string // "group" or "node", and the group name or node_id
	patterns   []pattern
	files      *FileLimits // nil when the block has no files block
	rng        hcl.Range
}

// pattern is one entry of an allow or deny list.
type pattern struct {
	text  string
	allow bool
	rank  int // specificity(text)
	rng   hcl.Range
}

// best returns the pattern that decides res within b, or nil when none
// matches: the most specific matching pattern, deny winning ties, then the
// first in the file.
func (b *block) best(res string) *pattern {
	var best *pattern
	for i := range b.patterns {
		p := &b.patterns[i]
		if !matches(p.text, res) {
			continue
		}
		if best == nil || p.rank > best.rank || p.rank == best.rank && best.allow && !p.allow {
			best = p
		}
	}
	return best
}

// ContactSet tells whether a node belongs to the built-in group "contacts":
// every peer the user added or accepted. A nil ContactSet has no members.
type ContactSet interface {
	IsContact(node string) bool
}

// IntroducedSet tells whether a node belongs to the built-in group
// "introduced": a current contact vouched for it with an unexpired signed
// introduction. The host supplies it once (Engine.SetIntroduced); it is
// asked at every decision, so a contact removed or an introduction expired
// takes effect at once.
type IntroducedSet interface {
	IsIntroduced(node string) bool
}

// Decision is the answer to "may node use resource?".
type Decision struct {
	// Allowed is true only when a rule allows the access.
	Allowed bool
	// Rule names what decided, for logs and the UI: the pattern's position
	// and block, e.g. `firewall.hcl:14:11: rule "group" "friends" deny
	// "context:profile.email"`, or "default deny: no rule matches".
	Rule string
	// Node and Resource echo the question.
	Node, Resource string
}

// DefaultDeny is the Rule of a decision no rule made.
const DefaultDeny = "default deny: no rule matches"

// view is the set of rule blocks that apply to one node.
type view struct {
	node   string
	own    *block   // the node's rule "node" block, or nil
	groups []*block // the rule "group" blocks of the groups it is in, in file order
}

// view collects the blocks that apply to node. It asks contacts and the
// introduced set at most once each.
func (r *Rules) view(node string, contacts ContactSet) view {
	v := view{node: node}
	if r == nil {
		return v
	}
	v.own = r.nodes[node]
	for _, g := range r.groups {
		switch {
		case g.name == ContactsGroup:
			if contacts != nil && contacts.IsContact(node) {
				v.groups = append(v.groups, g)
			}
		case g.name == IntroducedGroup:
			if r.introduced != nil && r.introduced.IsIntroduced(node) {
				v.groups = append(v.groups, g)
			}
		case r.members[g.name][node]:
			v.groups = append(v.groups, g)
		}
	}
	return v
}

// decide applies the precedence: the node's own block if one of its
// patterns matches, else deny if any group denies, else allow if any group
// allows, else deny.
func (v *view) decide(res string) Decision {
	d := Decision{Node: v.node, Resource: res, Rule: DefaultDeny}
	if v.own != nil {
		if p := v.own.best(res); p != nil {
			d.Allowed, d.Rule = p.allow, describe(v.own, p)
			return d
		}
	}
	var allowedBy string
	for _, g := range v.groups {
		p := g.best(res)
		switch {
		case p == nil:
		case !p.allow:
			d.Rule = describe(g, p)
			return d
		case allowedBy == "":
			allowedBy = describe(g, p)
		}
	}
	if allowedBy != "" {
		d.Allowed, d.Rule = true, allowedBy
	}
	return d
}

func describe(b *block, p *pattern) string {
	verb := "deny"
	if p.allow {
		verb = "allow"
	}
	return fmt.Sprintf("%s: rule %q %q %s %q", config.Pos(p.rng), b.kind, b.name, verb, p.text)
}

// Check decides whether node may use resource. The resource is a name, taken
// literally (see [ValidateResource] for checking what a peer sends): a
// "context:a.b" resource is the whole subtree at a.b. Anything no rule
// allows is denied.
func (r *Rules) Check(node, resource string, contacts ContactSet) Decision {
	v := r.view(node, contacts)
	return v.decide(resource)
}

// FileLimits bounds the files a node may send. The zero value allows no
// file; the defaults are no size limit, any type, and files larger than
// DefaultAskAboveMB MiB wait for the user.
type FileLimits struct {
	// MaxSizeBytes is the largest file accepted; 0 means unlimited.
	MaxSizeBytes int64
	// AskAboveBytes: an offer of a larger file is not accepted at once but
	// waits for the user (dpc transfers accept ID); 0 means never ask.
	AskAboveBytes int64
	// AllowedTypes are lower-case MIME type patterns: "*" (any), "image/*"
	// or an exact type such as "application/pdf".
	AllowedTypes []string
}

// DefaultAskAboveMB is ask_above_mb when a files block does not set it: a
// peer cannot fill the disk with one offer unless the user says yes.
const DefaultAskAboveMB = 100

func defaultLimits() FileLimits {
	return FileLimits{AskAboveBytes: DefaultAskAboveMB << 20, AllowedTypes: []string{"*"}}
}

// AsksUser reports whether an offer of a file of size bytes waits for the
// user rather than being accepted at once.
func (l FileLimits) AsksUser(size int64) bool { return l.AskAboveBytes > 0 && size > l.AskAboveBytes }

// FileLimits returns the limits on files from node. It does not say whether
// node may send files at all: ask Check(node, Files, contacts) first. The
// limits come from the node's own rule block if it has a files block; else
// from the first group rule block, in file order, of a group the node is in
// that allows "files" and has a files block; else they are the defaults (no
// size limit, any type, ask above DefaultAskAboveMB). It keeps to that simple order rather than combining
// the limits of several groups.
func (r *Rules) FileLimits(node string, contacts ContactSet) FileLimits {
	v := r.view(node, contacts)
	if v.own != nil && v.own.files != nil {
		return v.own.files.clone()
	}
	for _, g := range v.groups {
		if p := g.best(Files); g.files != nil && p != nil && p.allow {
			return g.files.clone()
		}
	}
	return defaultLimits()
}

func (l FileLimits) clone() FileLimits {
	l.AllowedTypes = append([]string(nil), l.AllowedTypes...)
	return l
}

// Allows reports whether a file of size bytes and the given MIME type is
// within the limits, and if not, why. Parameters such as "; charset=utf-8"
// are ignored and types compare case-insensitively.
func (l FileLimits) Allows(size int64, mimeType string) (bool, string) {
	if size < 0 {
		return false, fmt.Sprintf("invalid file size %d", size)
	}
	if l.MaxSizeBytes > 0 && size > l.MaxSizeBytes {
		return false, fmt.Sprintf("the file is %d bytes; the limit is %d bytes", size, l.MaxSizeBytes)
	}
	mt, _, _ := strings.Cut(mimeType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	for _, t := range l.AllowedTypes {
		if mimeMatch(strings.ToLower(t), mt) {
			return true, ""
		}
	}
	if len(l.AllowedTypes) == 0 {
		return false, "no file types are allowed"
	}
	return false, fmt.Sprintf("type %q is not one of the allowed types %s", mt, strings.Join(l.AllowedTypes, ", "))
}

// mimeMatch matches a lower-case MIME type against a pattern: "*" or "*/*"
// (anything), "type/*" or an exact type.
func mimeMatch(pattern, mt string) bool {
	if pattern == "*" || pattern == "*/*" {
		return true
	}
	typ, sub, ok := strings.Cut(mt, "/")
	if !ok || typ == "" || sub == "" {
		return false
	}
	if ptyp, ok := strings.CutSuffix(pattern, "/*"); ok {
		return ptyp == typ
	}
	return pattern == mt
}

// Filter returns the part of a JSON-like personal context document (as
// decoded by encoding/json into map[string]any) that node may read: a deep
// copy keeping exactly the values whose path "context:a.b.c" is allowed.
// Maps are walked at any depth and keys are joined with '.'. A key that
// holds a dot is never shared, whatever the rules say: its path would read
// as a deeper one, so a rule on "context:profile.name" would also share a
// sibling key "name.private_phone" (personal.Parse refuses such keys). Every
// other value (string, number, bool, null, and arrays as a whole) is a
// leaf, kept or dropped whole. Maps left empty are dropped, so an allowed
// subtree is kept entire unless a deny below it removes part of it. The
// result is never nil.
func (r *Rules) Filter(node string, contacts ContactSet, doc map[string]any) map[string]any {
	v := r.view(node, contacts)
	if v.own == nil && len(v.groups) == 0 {
		return map[string]any{}
	}
	return v.filter(doc, "")
}

// FilterScope returns the part of the user's own context doc that the AI
// scope name lets into a prompt, like [Rules.Filter] does for a peer. A scope
// not in the file gives ErrUnknownScope, naming the scopes there are.
func (r *Rules) FilterScope(name string, doc map[string]any) (map[string]any, error) {
	var b *block
	if r != nil {
		b = r.scopes[name]
	}
	if b == nil {
		return nil, fmt.Errorf("%w: %q; %s", ErrUnknownScope, name, r.scopeList())
	}
	v := view{node: "scope:" + name, own: b}
	return v.filter(doc, ""), nil
}

// Scopes returns the names of the AI scopes, sorted.
func (r *Rules) Scopes() []string {
	if r == nil {
		return nil
	}
	names := make([]string, 0, len(r.scopes))
	for n := range r.scopes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (r *Rules) scopeList() string {
	names := r.Scopes()
	if len(names) == 0 {
		return `firewall.hcl defines no scope; add one, e.g. rule "scope" "default" { allow = ["context:*"] }`
	}
	return "firewall.hcl defines " + strings.Join(names, ", ")
}

func (v *view) filter(m map[string]any, parent string) map[string]any {
	out := map[string]any{}
	for k, val := range m {
		if strings.Contains(k, ".") {
			continue // see Filter: its path would be ambiguous
		}
		path := ContextPrefix + k
		if parent != "" {
			path = parent + "." + k
		}
		if sub, ok := val.(map[string]any); ok {
			if kept := v.filter(sub, path); len(kept) > 0 {
				out[k] = kept
			}
			continue
		}
		if v.decide(path).Allowed {
			out[k] = jsondoc.CopyValue(val)
		}
	}
	return out
}
