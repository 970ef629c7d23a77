package personal

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/dpc-go/dpc/host/internal/jsondoc"
)

// FormatVersion is the version of D-PC's Personal Context Model this
// package reads and writes, in metadata.format_version.
const FormatVersion = "2.0"

// Context is one valid version of the personal context. It is immutable:
// its methods return copies, so it may be shared between goroutines.
type Context struct {
	doc  map[string]any
	hash string
}

func newContext(doc map[string]any) *Context {
	return &Context{doc: doc, hash: Hash(doc)}
}

// Doc returns a deep copy of the document, which the caller may change.
func (c *Context) Doc() map[string]any { return jsondoc.Copy(c.doc) }

// Hash returns [Hash] of the document.
func (c *Context) Hash() string { return c.hash }

// Encode returns the document as the file is written: indented, with
// keys in D-PC's order (what an editor of the file should start from).
func (c *Context) Encode() ([]byte, error) { return encode(c.doc) }

// Profile is the "profile" part of a personal context.
type Profile struct {
	Name        string
	Description string
	CoreValues  []string
}

// Profile returns the profile; fields missing from the document are empty.
func (c *Context) Profile() Profile {
	p, _ := c.doc["profile"].(map[string]any)
	name, _ := p["name"].(string)
	desc, _ := p["description"].(string)
	return Profile{Name: name, Description: desc, CoreValues: stringList(p["core_values"])}
}

// Topics returns the names of the knowledge topics, sorted.
func (c *Context) Topics() []string {
	k, _ := c.doc["knowledge"].(map[string]any)
	names := make([]string, 0, len(k))
	for n := range k {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Topic is one knowledge topic, with the fields the host uses; the
// document has the rest.
type Topic struct {
	Summary string
	Entries []Entry
}

// Entry is one piece of knowledge in a topic.
type Entry struct {
	Content string
	Tags    []string
}

// Topic returns the knowledge topic called name, and whether there is one.
func (c *Context) Topic(name string) (Topic, bool) {
	k, _ := c.doc["knowledge"].(map[string]any)
	t, ok := k[name].(map[string]any)
	if !ok {
		return Topic{}, false
	}
	summary, _ := t["summary"].(string)
	topic := Topic{Summary: summary}
	entries, _ := t["entries"].([]any)
	for _, e := range entries {
		m, _ := e.(map[string]any)
		content, _ := m["content"].(string)
		topic.Entries = append(topic.Entries, Entry{Content: content, Tags: stringList(m["tags"])})
	}
	return topic, true
}

// stringList returns a validated array of strings as a []string.
func stringList(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, e := range a {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Hash names a version of a document by its content: the SHA-256, in hex,
// of its canonical JSON (encoding/json sorts map keys), so that the same
// document has the same hash however its file is laid out. doc must hold
// only values encoding/json can encode, as Parse and Set make; Hash panics
// otherwise, as that is a bug in the caller.
func Hash(doc map[string]any) string {
	b, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("personal.Hash: the document cannot be encoded as JSON: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Default returns the personal.json that `dpc init` writes for a node
// called name: D-PC's layout with an empty profile but for the name, no
// knowledge, and metadata saying when it was created.
func Default(name string, now time.Time) []byte {
	ts := timestamp(now)
	doc := map[string]any{
		"profile": map[string]any{
			"name":        name,
			"description": "",
			"core_values": []any{},
		},
		"knowledge":         map[string]any{},
		"preferences":       nil,
		"cognitive_profile": nil,
		"version":           json.Number("1"),
		"commit_history":    []any{},
		"metadata": map[string]any{
			"created":        ts,
			"last_updated":   ts,
			"storage":        "local",
			"format_version": FormatVersion,
		},
	}
	b, err := encode(doc)
	if err != nil {
		// Only strings, maps and a valid number: encoding cannot fail.
		panic(fmt.Sprintf("personal.Default: %v", err))
	}
	return b
}

// bookkeeping are the top-level keys of D-PC's layout that record the
// file's own history and format, not anything about the person.
var bookkeeping = map[string]bool{"metadata": true, "version": true, "last_commit_id": true,
	"last_commit_message": true, "last_commit_timestamp": true, "commit_history": true}

// Bookkeeping reports whether a top-level key of personal.json is the
// file's bookkeeping (metadata, version, commits) rather than context.
func Bookkeeping(key string) bool { return bookkeeping[key] }

// timestamp formats t as metadata timestamps are written.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// fieldOrder lists the keys of the objects of D-PC's layout in the order
// D-PC writes them, so that a file the host rewrites reads like one D-PC
// wrote: the name first in the profile, the metadata last. "*" is where
// other keys go, sorted; it is at the end when not listed.
var fieldOrder = map[string][]string{
	kindTop: {"profile", "knowledge", "preferences", "cognitive_profile", "version", "last_commit_id",
		"last_commit_message", "last_commit_timestamp", "commit_history", "*", "metadata"},
	kindProfile: {"name", "description", "core_values"},
	kindTopic: {"summary", "entries", "mastery_level", "version", "created_at", "last_modified", "markdown_file",
		"commit_id", "key_books", "preferred_authors", "learning_strategies"},
	kindEntry: {"content", "tags", "source", "confidence", "last_updated", "edited_by", "edited_at", "usage_count",
		"effectiveness_score", "review_due", "cultural_specific", "requires_context", "alternative_viewpoints"},
	kindMetadata: {"created", "last_updated", "storage", "format_version"},
}

// Kinds of objects with a field order.
const (
	kindOther     = ""
	kindTop       = "top"
	kindProfile   = "profile"
	kindKnowledge = "knowledge"
	kindTopic     = "topic"
	kindEntry     = "entry"
	kindMetadata  = "metadata"
)

// childKind is the kind of the value at key in an object of kind kind; for
// an array there, the kind of its elements.
func childKind(kind, key string) string {
	switch {
	case kind == kindTop && (key == kindProfile || key == kindKnowledge || key == kindMetadata):
		return key
	case kind == kindKnowledge:
		return kindTopic
	case kind == kindTopic && key == "entries":
		return kindEntry
	}
	return kindOther
}

// orderedKeys returns the keys of m in the order of its kind.
func orderedKeys(m map[string]any, kind string) []string {
	order := fieldOrder[kind]
	rank := make(map[string]int, len(order))
	other := len(order)
	for i, k := range order {
		if k == "*" {
			other = i
		} else {
			rank[k] = i
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	rankOf := func(k string) int {
		if r, ok := rank[k]; ok {
			return r
		}
		return other
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(rankOf(a), rankOf(b)), cmp.Compare(a, b))
	})
	return keys
}

// encode writes doc the way the file is kept: like json.MarshalIndent with
// two spaces, but with keys in D-PC's order (see fieldOrder), '<', '>' and
// '&' left as they are, and a final newline.
func encode(doc map[string]any) ([]byte, error) {
	var b bytes.Buffer
	if err := writeValue(&b, doc, "", kindTop); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func writeValue(b *bytes.Buffer, v any, indent, kind string) error {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteByte('{')
		for i, k := range orderedKeys(v, kind) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("\n" + indent + "  ")
			if err := writeScalar(b, k); err != nil {
				return err
			}
			b.WriteString(": ")
			if err := writeValue(b, v[k], indent+"  ", childKind(kind, k)); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		b.WriteString("\n" + indent + "}")
	case []any:
		if len(v) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("\n" + indent + "  ")
			if err := writeValue(b, e, indent+"  ", kind); err != nil {
				return err
			}
		}
		b.WriteString("\n" + indent + "]")
	default:
		return writeScalar(b, v)
	}
	return nil
}

// writeScalar writes a string, number, boolean or null (or any other value
// encoding/json takes, on one line).
func writeScalar(b *bytes.Buffer, v any) error {
	var one bytes.Buffer
	enc := json.NewEncoder(&one)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Write(bytes.TrimSuffix(one.Bytes(), []byte("\n")))
	return nil
}
