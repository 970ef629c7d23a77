package promptctx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// Sources of a block.
const (
	// SourceLocal marks the user's own context.
	SourceLocal = "local"
	// SourcePeer marks a contact's context, as their firewall let it through.
	SourcePeer = "peer"
)

// Section markers and tags, each a whole line.
const (
	SectionStart = "--- CONTEXTUAL DATA ---"
	SectionEnd   = "--- END OF CONTEXTUAL DATA ---"
	openTag      = "<CONTEXT"
	closeTag     = "</CONTEXT>"
)

var (
	// ErrInvalidBlock means a Block cannot be rendered: a bad source,
	// node_id or name, or a context that is not JSON.
	ErrInvalidBlock = errors.New("invalid context block")
	// ErrMalformed means Parse found a contextual data section it cannot
	// read.
	ErrMalformed = errors.New("malformed contextual data")
)

// Block is one owner's context in a prompt.
type Block struct {
	// Source is SourceLocal or SourcePeer.
	Source string
	// Name is the owner's display name; it may be empty.
	Name string
	// NodeID is the owner's node_id: "dpc-node-" and 32 lower-case hex.
	NodeID string
	// Context is the (already firewall-filtered) document. Nil renders as
	// an empty object; Parse always returns a non-nil map whose numbers are
	// json.Number.
	Context map[string]any
}

// Validate reports what keeps b from being rendered, wrapping
// ErrInvalidBlock.
func (b Block) Validate() error {
	var errs []error
	if b.Source != SourceLocal && b.Source != SourcePeer {
		errs = append(errs, fmt.Errorf("source must be %q or %q, got %q", SourceLocal, SourcePeer, b.Source))
	}
	if !dpcuri.ValidNodeID(b.NodeID) {
		errs = append(errs, fmt.Errorf("node_id must be %q followed by 32 lower-case hex characters, got %q", dpcuri.NodeIDPrefix, b.NodeID))
	}
	if !utf8.ValidString(b.Name) {
		// Rejected rather than repaired so that Parse(Render(x)) == x.
		errs = append(errs, fmt.Errorf("name %q is not valid UTF-8", b.Name))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidBlock, errors.Join(errs...))
}

// Label names the block's owner for people, on one line:
//
//	Carol (dpc-node-…)        a peer
//	Alice (you, dpc-node-…)   the user's own context
//	dpc-node-…                a peer without a display name
//	you (dpc-node-…)          the user's own context, without a name
//
// Characters of the name that are not printable (newlines, control
// characters) become spaces, so a label never spans lines.
func (b Block) Label() string {
	name := OneLine(b.Name)
	var qual []string
	if b.Source == SourceLocal {
		if name == "" {
			name = "you"
		} else {
			qual = append(qual, "you")
		}
	}
	if id := OneLine(b.NodeID); id != "" {
		qual = append(qual, id)
	}
	switch {
	case name == "" && len(qual) == 0:
		return "unknown"
	case name == "":
		return strings.Join(qual, ", ")
	case len(qual) == 0:
		return name
	}
	return name + " (" + strings.Join(qual, ", ") + ")"
}

// OneLine returns s with every run of white space and non-printable
// characters replaced by a single space, trimmed: safe to show as one line.
func OneLine(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)), " ")
}

// describe names a block in error messages.
func (b Block) describe() string {
	return fmt.Sprintf("name %q, node_id %q", b.Name, b.NodeID)
}

// Render returns the contextual data section for blocks, in their order, or
// "" when there are none. It fails, wrapping ErrInvalidBlock, if a block
// does not Validate or its Context cannot be encoded as JSON.
func Render(blocks []Block) (string, error) {
	if len(blocks) == 0 {
		return "", nil
	}
	var out strings.Builder
	out.WriteString(SectionStart + "\n")
	for i, b := range blocks {
		if err := b.Validate(); err != nil {
			return "", fmt.Errorf("promptctx: block %d (%s): %w", i+1, b.describe(), err)
		}
		doc := b.Context
		if doc == nil {
			doc = map[string]any{}
		}
		// MarshalIndent escapes '<' and '>' (HTML-safe by default): this is
		// what keeps a body from containing a "</CONTEXT>" line.
		body, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return "", fmt.Errorf("promptctx: block %d (%s): %w: context cannot be encoded as JSON: %w", i+1, b.describe(), ErrInvalidBlock, err)
		}
		fmt.Fprintf(&out, "%s source=%s name=%s node_id=%s>\n", openTag, quote(b.Source), quote(b.Name), quote(b.NodeID))
		out.Write(body)
		out.WriteString("\n" + closeTag + "\n")
	}
	out.WriteString(SectionEnd + "\n")
	return out.String(), nil
}

// quote writes s as a JSON string literal that is one line of printable
// characters without '<', '>' or '&'. s must be valid UTF-8.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '<' || r == '>' || r == '&' || !unicode.IsPrint(r):
			if r > 0xFFFF {
				hi, lo := utf16.EncodeRune(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, hi, lo)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Parse returns every block of every contextual data section in text, in
// order, or nil if there is none. Text outside sections is ignored. Errors
// wrap ErrMalformed and name the block (by number, and by name and node_id
// once its tag was read) and the line.
func Parse(text string) ([]Block, error) {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		// Tolerate CRLF and trailing blanks; neither can matter inside JSON
		// strings, which never span lines.
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	var blocks []Block
	for i := 0; i < len(lines); i++ {
		if lines[i] != SectionStart {
			continue
		}
		start := i
		for i++; ; i++ {
			if i >= len(lines) {
				return nil, fmt.Errorf("promptctx: %w: the section opened at line %d has no %q line", ErrMalformed, start+1, SectionEnd)
			}
			line := lines[i]
			if line == SectionEnd {
				break
			}
			if line == "" {
				continue
			}
			n := len(blocks) + 1
			if !strings.HasPrefix(line, openTag) {
				return nil, fmt.Errorf("promptctx: %w: line %d: want a %s …> tag or %q inside the contextual data section, got %.40q", ErrMalformed, i+1, openTag, SectionEnd, line)
			}
			b, err := parseTag(line)
			if err != nil {
				return nil, fmt.Errorf("promptctx: %w: block %d at line %d: %w", ErrMalformed, n, i+1, err)
			}
			end := i + 1
			for ; end < len(lines) && lines[end] != closeTag; end++ {
				// A body line never starts with '<' or '-' (see the package
				// doc), so these mean the closing tag is missing.
				if lines[end] == SectionEnd || strings.HasPrefix(lines[end], openTag) {
					break
				}
			}
			if end >= len(lines) || lines[end] != closeTag {
				return nil, fmt.Errorf("promptctx: %w: block %d (%s) at line %d: no %s line before line %d", ErrMalformed, n, b.describe(), i+1, closeTag, end+1)
			}
			doc, err := decodeObject(strings.Join(lines[i+1:end], "\n"))
			if err != nil {
				return nil, fmt.Errorf("promptctx: %w: block %d (%s) at line %d: %w", ErrMalformed, n, b.describe(), i+1, err)
			}
			b.Context = doc
			blocks = append(blocks, b)
			i = end
		}
	}
	return blocks, nil
}

// parseTag reads `<CONTEXT source="…" name="…" node_id="…">`.
func parseTag(line string) (Block, error) {
	rest, ok := strings.CutPrefix(line, openTag)
	if !ok || !strings.HasSuffix(rest, ">") {
		return Block{}, fmt.Errorf("want a tag of the form %s source=\"…\" name=\"…\" node_id=\"…\">, got %.60q", openTag, line)
	}
	rest = rest[:len(rest)-1]
	attrs := map[string]string{}
	for rest != "" {
		trimmed := strings.TrimLeft(rest, " \t")
		if len(trimmed) == len(rest) {
			return Block{}, fmt.Errorf("want a space before each attribute, got %.40q", rest)
		}
		rest = trimmed
		if rest == "" {
			break
		}
		key, value, ok := strings.Cut(rest, "=")
		if !ok || !isAttrName(key) {
			return Block{}, fmt.Errorf("want name=\"value\" attributes, got %.40q", rest)
		}
		raw, tail, err := cutQuoted(value)
		if err != nil {
			return Block{}, fmt.Errorf("attribute %s: %w", key, err)
		}
		var s string
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			return Block{}, fmt.Errorf("attribute %s: value %.40s is not a valid JSON string: %w", key, raw, err)
		}
		if _, dup := attrs[key]; dup {
			return Block{}, fmt.Errorf("attribute %s appears twice", key)
		}
		switch key {
		case "source", "name", "node_id":
		default:
			return Block{}, fmt.Errorf("unknown attribute %.40s (want source, name and node_id)", key)
		}
		attrs[key] = s
		rest = tail
	}
	for _, k := range []string{"source", "name", "node_id"} {
		if _, ok := attrs[k]; !ok {
			return Block{}, fmt.Errorf("missing attribute %s", k)
		}
	}
	b := Block{Source: attrs["source"], Name: attrs["name"], NodeID: attrs["node_id"]}
	if err := b.Validate(); err != nil {
		return Block{}, err
	}
	return b, nil
}

func isAttrName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// cutQuoted splits s after the JSON string literal it starts with.
func cutQuoted(s string) (literal, rest string, err error) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", fmt.Errorf("want a double-quoted value, got %.40q", s)
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			if !utf8.ValidString(s[:i+1]) {
				// json.Unmarshal would quietly replace bad bytes.
				return "", "", fmt.Errorf("value is not valid UTF-8")
			}
			return s[:i+1], s[i+1:], nil
		}
	}
	return "", "", fmt.Errorf("value %.40s has no closing quote", s)
}

// decodeObject decodes exactly one JSON object, keeping numbers exact.
func decodeObject(body string) (map[string]any, error) {
	if strings.TrimSpace(body) == "" {
		return nil, errors.New("the context is empty; want a JSON object")
	}
	if !utf8.ValidString(body) {
		return nil, errors.New("the context is not valid UTF-8")
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("the context is not valid JSON: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the context must be a JSON object, got %s", jsonKind(v))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("the context has more after its JSON object")
	}
	return doc, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// Entry is one leaf of a context document.
type Entry struct {
	// Path locates the leaf: object keys joined by dots, array elements by
	// [index], e.g. "knowledge.cooking.entries[0].content". A key that is not
	// only letters, digits, '_' and '-' is written as ["key"], quoted like
	// an attribute value, so a path is always one printable line.
	Path string
	// Text is the leaf's value: a string as is (it may span lines), a number
	// as written in the JSON, a boolean as "true" or "false".
	Text string
}

// Entries lists every leaf (string, number, boolean) of b.Context in the
// order of the rendered JSON: object keys sorted, array elements by index.
// Nulls, empty objects and empty arrays have no leaves. Values of other Go
// types (structs, typed slices) are read through their JSON encoding and
// skipped if they have none.
func Entries(b Block) []Entry {
	var out []Entry
	walk("", b.Context, &out)
	return out
}

func walk(path string, v any, out *[]Entry) {
	switch v := v.(type) {
	case nil:
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		// encoding/json sorts keys by their bytes; so does this.
		slices.Sort(keys)
		for _, k := range keys {
			walk(joinKey(path, k), v[k], out)
		}
	case []any:
		for i, x := range v {
			walk(fmt.Sprintf("%s[%d]", path, i), x, out)
		}
	case string:
		*out = append(*out, Entry{Path: path, Text: v})
	case json.Number:
		*out = append(*out, Entry{Path: path, Text: v.String()})
	case bool, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		// Written the way encoding/json writes them.
		raw, err := json.Marshal(v)
		if err == nil {
			*out = append(*out, Entry{Path: path, Text: string(raw)})
		}
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var norm any
		if dec.Decode(&norm) == nil {
			walk(path, norm, out)
		}
	}
}

func joinKey(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return path + "[" + quote(strings.ToValidUTF8(key, "\uFFFD")) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}
