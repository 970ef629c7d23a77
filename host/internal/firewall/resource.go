package firewall

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The resources a rule can allow or deny. Model and context resources are a
// prefix followed by a name or a path.
const (
	// Messages is the right to send this node messages.
	Messages = "messages"
	// Files is the right to offer this node files (see [FileLimits]).
	Files = "files"
	// History is the right to ask for the chat history shared with this node.
	History = "history"
	// Compute is the right to run inference on this node's models; which
	// models is decided separately by "model:<name>".
	Compute = "compute"
	// ChannelInvites is the right to invite this node's user to channels.
	ChannelInvites = "channel_invites"
	// Mailbox is the right to have sealed envelopes (package mailbox) left
	// for this node at its hub delivered: what a peer could send over a
	// session, sent while there is none.
	Mailbox = "mailbox"
	// ModelPrefix starts "model:<name>": the right to use one model.
	ModelPrefix = "model:"
	// ContextPrefix starts "context:<path>": the right to read the part of
	// the personal context at the dotted path, and everything below it.
	ContextPrefix = "context:"
)

// plainResources are the resources without a name part.
var plainResources = func() map[string]bool {
	m := map[string]bool{}
	for _, r := range PlainResources() {
		m[r] = true
	}
	return m
}()

// PlainResources lists the resources without a name part, sorted.
func PlainResources() []string {
	return []string{ChannelInvites, Compute, Files, History, Mailbox, Messages}
}

const validResources = `"messages", "files", "history", "compute", "channel_invites", "mailbox", "model:<name>" and "context:<path>"`

// ValidateResource checks a concrete resource, such as one a peer asks for:
// it must be one of the known kinds, and since resources are names, not
// patterns, it must not contain the glob characters '*' or '?'. The error
// wraps ErrInvalidResource. [Rules.Check] does not call it: there, a resource
// is taken literally and anything unknown is simply denied.
func ValidateResource(resource string) error {
	if p := patternProblem(resource); p != "" {
		return fmt.Errorf("%w: %s", ErrInvalidResource, p)
	}
	if strings.ContainsAny(resource, "*?") {
		return fmt.Errorf("%w: %q contains '*' or '?'; a resource is a name, not a pattern", ErrInvalidResource, resource)
	}
	return nil
}

// patternProblem says what is wrong with a rule pattern, or returns "".
// Globs are allowed in the name of a model and the path of a context
// resource only.
func patternProblem(p string) string {
	if strings.TrimSpace(p) != p {
		return fmt.Sprintf("%q has leading or trailing white space", p)
	}
	switch {
	case plainResources[p]:
		return ""
	case strings.HasPrefix(p, ModelPrefix):
		if p == ModelPrefix {
			return fmt.Sprintf(`%q names no model; want for example "model:llama3" or "model:*"`, p)
		}
		return ""
	case strings.HasPrefix(p, ContextPrefix):
		path := p[len(ContextPrefix):]
		if path == "" {
			return fmt.Sprintf(`%q names no path; want for example "context:profile.name" or "context:*"`, p)
		}
		if slicesContainsEmpty(strings.Split(path, ".")) {
			return fmt.Sprintf(`%q has an empty path element; want dot-separated names such as "context:knowledge.cooking.*"`, p)
		}
		return ""
	}
	return fmt.Sprintf("%q is not a resource; valid resources are %s", p, validResources)
}

func slicesContainsEmpty(s []string) bool {
	for _, e := range s {
		if e == "" {
			return true
		}
	}
	return false
}

// glob reports whether pattern matches all of name, where '*' matches any
// run of characters (dots included) and '?' exactly one character (a UTF-8
// sequence, or a single byte that is not valid UTF-8). Every other byte
// matches only itself. It runs in O(len(pattern)·len(name)) at worst and
// never allocates.
func glob(pattern, name string) bool {
	px, nx := 0, 0
	// Where to resume after a mismatch: the last '*' seen, and the name
	// position it should swallow up to next.
	starPx, starNx := -1, 0
	for px < len(pattern) || nx < len(name) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				starPx, starNx = px, nx
				px++
				continue
			case '?':
				if nx < len(name) {
					_, w := utf8.DecodeRuneInString(name[nx:])
					px++
					nx += w
					continue
				}
			default:
				if nx < len(name) && name[nx] == c {
					px++
					nx++
					continue
				}
			}
		}
		// Mismatch: let the last '*' swallow one more character.
		if starPx >= 0 && starNx < len(name) {
			_, w := utf8.DecodeRuneInString(name[starNx:])
			starNx += w
			px, nx = starPx+1, starNx
			continue
		}
		return false
	}
	return true
}

// specificity is the number of literal characters in a pattern: everything
// but '*' and '?', and not the dot of a trailing ".*" on a context pattern,
// since "context:x.*" covers exactly what "context:x" covers.
func specificity(p string) int {
	if strings.HasPrefix(p, ContextPrefix) && strings.HasSuffix(p, ".*") {
		p = p[:len(p)-2]
	}
	n := 0
	for _, r := range p {
		if r != '*' && r != '?' {
			n++
		}
	}
	return n
}

// matches reports whether pattern p applies to resource res: p glob-matches
// res, or, for a context pattern, p covers res because it matches res's
// parent at any level ("context:profile" covers "context:profile.name"), or
// p is "x.*" and res is x itself.
func matches(p, res string) bool {
	if glob(p, res) {
		return true
	}
	if !strings.HasPrefix(p, ContextPrefix) || !strings.HasPrefix(res, ContextPrefix) {
		return false
	}
	base, dotStar := strings.CutSuffix(p, ".*")
	if dotStar && glob(base, res) {
		return true
	}
	for i := len(ContextPrefix); i < len(res); i++ {
		if res[i] == '.' && glob(p, res[:i]) {
			return true
		}
	}
	return false
}
