package personal

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"

	"github.com/dpc-go/dpc/config"
)

// bom is the UTF-8 byte order mark some editors put at the start of a file;
// it is skipped rather than refused.
var bom = []byte("\ufeff")

// Parse reads a personal context file. filename is used in error messages.
// The problems found (the first 20 in the file, if there are more) are
// reported, each with its file:line:column, in an [*config.Error] wrapping
// ErrInvalidContext. What is checked: the file is
// one JSON object; "profile", if present, is an object whose "name" and
// "description" are strings and "core_values" an array of strings;
// "knowledge" is an object of topics, each an object whose "summary" is a
// string and whose "entries" are objects with a string "content" and an
// array of strings as "tags"; "preferences" and "cognitive_profile" are
// objects or null; "version" is a whole number; "metadata" is an object
// whose "format_version", if present, is "2.0". Any of these keys may be
// missing, and other keys may hold anything.
func Parse(data []byte, filename string) (*Context, error) {
	doc, diags := decode(data, filename)
	if err := config.NewError(ErrInvalidContext, diags); err != nil {
		return nil, err
	}
	return newContext(doc), nil
}

// decode decodes and validates data.
func decode(data []byte, filename string) (map[string]any, hcl.Diagnostics) {
	skip := 0
	if bytes.HasPrefix(data, bom) {
		skip = len(bom)
	}
	src := data[skip:]
	at := func(off int) *hcl.Range {
		r := rangeAt(src, off, skip, filename)
		return &r
	}
	diag := func(off int, summary, detail string) hcl.Diagnostics {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: at(off)}}
	}

	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return nil, diag(len(src), "Empty file",
			`A personal context is a JSON object such as {"profile": {"name": "…"}, "knowledge": {}}; dpc init writes one.`)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, diag(len(src), "Incomplete JSON", "The file ends in the middle of a value; is a closing } or ] or \" missing?")
	case errors.As(err, &syn):
		// Offset counts the bytes read up to and including the bad one.
		return nil, diag(int(syn.Offset)-1, "Invalid JSON", syn.Error())
	case err != nil:
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read JSON", Detail: err.Error()}}
	}
	end := int(dec.InputOffset())
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, diag(skipSpace(src, end), "Extra data after the object",
			"The file must hold exactly one JSON object; remove what follows its closing }.")
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, diag(skipSpace(src, 0), "Not an object",
			fmt.Sprintf("A personal context is a JSON object {…}; this file holds %s.", describe(v)))
	}
	problems := validate(doc)
	if len(problems) == 0 {
		return doc, nil
	}
	offsets := valueOffsets(src)
	// Report the first problems in the file, not the first found.
	slices.SortStableFunc(problems, func(a, b problem) int {
		return cmp.Compare(offsets[pathKey(a.path)], offsets[pathKey(b.path)])
	})
	return nil, diagnose(problems, func(p problem) *hcl.Range {
		if off, ok := offsets[pathKey(p.path)]; ok {
			return at(off)
		}
		return nil
	})
}

// maxProblems is how many problems an error lists: a file that is wrong
// throughout (a list of 10,000 numbers where strings belong) gets a
// readable message, and a pass over the file per problem stays cheap.
const maxProblems = 20

// diagnose turns the first maxProblems problems into diagnostics at the
// positions locate gives (nil for none), and says how many more there are.
func diagnose(problems []problem, locate func(problem) *hcl.Range) hcl.Diagnostics {
	shown := problems[:min(len(problems), maxProblems)]
	diags := make(hcl.Diagnostics, 0, len(shown)+1)
	for _, p := range shown {
		d := p.diag()
		d.Subject = locate(p)
		diags = append(diags, d)
	}
	if more := len(problems) - len(shown); more > 0 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Too many problems",
			Detail: fmt.Sprintf("%d more are not shown; fix the ones above first.", more)})
	}
	return diags
}

// rangeAt is the position of byte off of src, where src is what follows
// skip bytes of the file; columns count characters, as editors show them.
func rangeAt(src []byte, off, skip int, filename string) hcl.Range {
	off = max(0, min(off, len(src)))
	line, lineStart := 1, 0
	for i, b := range src[:off] {
		if b == '\n' {
			line++
			lineStart = i + 1
		}
	}
	pos := hcl.Pos{Line: line, Column: 1 + utf8.RuneCount(src[lineStart:off]), Byte: skip + off}
	return hcl.Range{Filename: filename, Start: pos, End: pos}
}

// skipSpace returns the offset of the first byte at or after off that is
// neither JSON white space nor a separator: where the next value starts.
func skipSpace(src []byte, off int) int {
	for off < len(src) && strings.IndexByte(" \t\r\n,:", src[off]) >= 0 {
		off++
	}
	return off
}

// valueOffsets maps the pathKey of every value in src, which must be valid
// JSON, to the offset where the value starts. With duplicate keys the last
// one counts, as it does when decoding.
func valueOffsets(src []byte) map[string]int {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	offsets := map[string]int{}
	var walk func(path []any) error
	walk = func(path []any) error {
		offsets[pathKey(path)] = skipSpace(src, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				key, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := key.(string)
				if err := walk(append(path, k)); err != nil {
					return err
				}
			}
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(append(path, i)); err != nil {
					return err
				}
			}
		default:
			return nil
		}
		_, err = dec.Token() // the closing delimiter
		return err
	}
	// src was decoded before, so an error here only leaves positions out.
	_ = walk(nil)
	return offsets
}

// pathKey makes a map key of a path of object keys (string) and array
// indexes (int).
func pathKey(path []any) string {
	var b strings.Builder
	for _, seg := range path {
		switch s := seg.(type) {
		case string:
			b.WriteString("k" + strconv.Itoa(len(s)) + ":" + s)
		case int:
			b.WriteString("i" + strconv.Itoa(s) + ":")
		}
	}
	return b.String()
}

// pathString renders a path for people: keys joined by dots, indexes in
// brackets, and keys that would read ambiguously quoted in brackets.
func pathString(path []any) string {
	var b strings.Builder
	for i, seg := range path {
		switch s := seg.(type) {
		case string:
			switch {
			case s == "" || strings.ContainsAny(s, ".[]\"") || s != strings.TrimSpace(s):
				b.WriteString("[" + strconv.Quote(s) + "]")
			case i > 0:
				b.WriteString("." + s)
			default:
				b.WriteString(s)
			}
		case int:
			b.WriteString("[" + strconv.Itoa(s) + "]")
		}
	}
	return b.String()
}

// describe names the JSON type of a value, with its article.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, float32, int, int64, int32, uint, uint64, uint32:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// problem is something wrong at a path of a document.
type problem struct {
	path    []any
	summary string
	detail  string
	// wrongType marks a value of the wrong JSON type, for Set's hints.
	wrongType bool
}

// noPosition locates problems in a document that is not in a file.
func noPosition(problem) *hcl.Range { return nil }

// diag is the problem as a diagnostic without a position.
func (p problem) diag() *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: p.summary, Detail: p.detail}
}

// validator collects the problems of one document.
type validator struct{ problems []problem }

// validate checks what Parse promises about a document.
func validate(doc map[string]any) []problem {
	var v validator
	if p, ok := doc["profile"]; ok {
		v.profile(p)
	}
	if k, ok := doc["knowledge"]; ok {
		v.knowledge(k)
	}
	for _, key := range []string{"preferences", "cognitive_profile"} {
		if x, ok := doc[key]; ok && x != nil {
			v.object(x, []any{key}, "an object or null")
		}
	}
	if x, ok := doc["version"]; ok {
		n, isNum := x.(json.Number)
		if _, err := strconv.ParseInt(string(n), 10, 64); !isNum || err != nil {
			v.wrong([]any{"version"}, "a whole number", x)
		}
	}
	if x, ok := doc["metadata"]; ok {
		if m, ok := v.object(x, []any{"metadata"}, "an object"); ok {
			v.formatVersion(m)
		}
	}
	v.dottedKeys(doc, nil)
	return v.problems
}

// dottedKeys records every key of an object, at any depth of objects, that
// holds a dot. Firewall paths join keys with dots, so such a key would read
// as a deeper path: a rule sharing "context:profile.name" would also share
// a key "name.private_phone" beside it. Objects inside arrays are not
// reached by paths and are not looked at.
func (v *validator) dottedKeys(m map[string]any, path []any) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kpath := append(path[:len(path):len(path)], k)
		if strings.Contains(k, ".") {
			where := "at the top level"
			if len(path) > 0 {
				where = "in " + pathString(path)
			}
			v.problems = append(v.problems, problem{path: kpath, summary: "Dot in a key",
				detail: fmt.Sprintf("The key %q %s holds a dot. Firewall paths such as context:profile.name separate keys with dots, so this key could not be told apart from a deeper path; rename it, e.g. to %q.",
					k, where, strings.ReplaceAll(k, ".", "_"))})
			continue
		}
		if sub, ok := m[k].(map[string]any); ok {
			v.dottedKeys(sub, kpath)
		}
	}
}

func (v *validator) formatVersion(m map[string]any) {
	x, ok := m["format_version"]
	if !ok {
		return
	}
	path := []any{"metadata", "format_version"}
	switch f, ok := x.(string); {
	case !ok:
		v.wrong(path, fmt.Sprintf("the string %q", FormatVersion), x)
	case f != FormatVersion:
		v.problems = append(v.problems, problem{path: path, summary: "Unsupported format version",
			detail: fmt.Sprintf("metadata.format_version is %q; this node reads D-PC's format %q only.", f, FormatVersion)})
	}
}

func (v *validator) profile(x any) {
	path := []any{"profile"}
	p, ok := v.object(x, path, "an object")
	if !ok {
		return
	}
	for _, key := range []string{"name", "description"} {
		if s, ok := p[key]; ok {
			v.str(s, append(path, key))
		}
	}
	if cv, ok := p["core_values"]; ok {
		v.strList(cv, append(path, "core_values"))
	}
}

func (v *validator) knowledge(x any) {
	path := []any{"knowledge"}
	k, ok := v.object(x, path, "an object of topics")
	if !ok {
		return
	}
	// Sorted, so that problems found in memory come in a stable order.
	for _, name := range slices.Sorted(maps.Keys(k)) {
		t := k[name]
		tpath := []any{"knowledge", name}
		topic, ok := v.object(t, tpath, "an object (a topic)")
		if !ok {
			continue
		}
		if s, ok := topic["summary"]; ok {
			v.str(s, append(tpath, "summary"))
		}
		e, ok := topic["entries"]
		if !ok {
			continue
		}
		epath := append(tpath, "entries")
		entries, ok := e.([]any)
		if !ok {
			v.wrong(epath, "an array of entries", e)
			continue
		}
		for i, e := range entries {
			v.entry(e, append(epath[:len(epath):len(epath)], i))
		}
	}
}

func (v *validator) entry(x any, path []any) {
	e, ok := v.object(x, path, "an object (an entry)")
	if !ok {
		return
	}
	c, ok := e["content"]
	if !ok {
		v.problems = append(v.problems, problem{path: path, summary: "Missing content",
			detail: fmt.Sprintf(`%s has no "content"; every entry holds its text in "content".`, pathString(path))})
	} else {
		v.str(c, append(path[:len(path):len(path)], "content"))
	}
	if t, ok := e["tags"]; ok {
		v.strList(t, append(path[:len(path):len(path)], "tags"))
	}
}

// object returns x as an object, or records that the value at path should
// be want.
func (v *validator) object(x any, path []any, want string) (map[string]any, bool) {
	m, ok := x.(map[string]any)
	if !ok {
		v.wrong(path, want, x)
	}
	return m, ok
}

func (v *validator) str(x any, path []any) {
	if _, ok := x.(string); !ok {
		v.wrong(path, "a string", x)
	}
}

func (v *validator) strList(x any, path []any) {
	a, ok := x.([]any)
	if !ok {
		v.wrong(path, "an array of strings", x)
		return
	}
	for i, e := range a {
		if _, ok := e.(string); !ok {
			v.wrong(append(path[:len(path):len(path)], i), "a string", e)
		}
	}
}

// wrong records that the value x at path is not what it should be.
func (v *validator) wrong(path []any, want string, x any) {
	got := describe(x)
	if n, ok := x.(json.Number); ok {
		got = "the number " + n.String() // says more than "a number"
	}
	v.problems = append(v.problems, problem{
		path:      slices.Clone(path),
		summary:   "Wrong type",
		detail:    fmt.Sprintf("%s must be %s, not %s.", pathString(path), want, got),
		wrongType: true,
	})
}
