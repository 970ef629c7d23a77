package config

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// lockHeader opens every lock file Write produces.
const lockHeader = "# Written by `dpc plugin lock`. Pins each plugin binary by sha256; edit only by re-running that command."

var (
	lockSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "plugin", LabelNames: []string{"kind", "name"}},
	}}
	lockEntrySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "version", Required: true},
		{Name: "sha256", Required: true},
	}}
)

// LockEntry pins one plugin binary.
type LockEntry struct {
	Kind    string
	Name    string
	Version string
	// SHA256 is the binary's digest, 64 lower-case hex characters.
	SHA256 string
}

// Lock is the lock file, $DPC_HOME/dpc.lock.hcl.
type Lock struct {
	Path    string
	Entries []LockEntry
}

// ReadLock reads the lock file at path. A missing file is an empty Lock; a
// malformed one is an *Error wrapping ErrInvalidLock.
func ReadLock(path string) (*Lock, error) {
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Lock{Path: path}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parseLock(src, path)
}

func parseLock(src []byte, path string) (*Lock, error) {
	l := &Lock{Path: path}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, NewError(ErrInvalidLock, diags)
	}
	content, diags := f.Body.Content(lockSchema)
	first := map[string]*hcl.Block{}
	for _, b := range content.Blocks {
		e, d := decodeLockEntry(b)
		diags = append(diags, d...)
		if prev, ok := first[e.Name]; ok {
			diags = append(diags, DiagAt(b.DefRange, "Duplicate plugin block",
				fmt.Sprintf("Plugin %q was already pinned at %s.", e.Name, Pos(prev.DefRange))))
			continue
		}
		first[e.Name] = b
		l.Entries = append(l.Entries, e)
	}
	if err := NewError(ErrInvalidLock, diags); err != nil {
		return nil, err
	}
	return l, nil
}

func decodeLockEntry(b *hcl.Block) (LockEntry, hcl.Diagnostics) {
	e := LockEntry{Kind: b.Labels[0], Name: b.Labels[1]}
	var diags hcl.Diagnostics
	if _, ok := kinds[e.Kind]; !ok {
		diags = append(diags, DiagAt(b.LabelRanges[0], "Unknown plugin kind",
			fmt.Sprintf("%q is not a plugin kind; valid kinds are %s.", e.Kind, validKinds)))
	}
	if !validName(e.Name) {
		diags = append(diags, DiagAt(b.LabelRanges[1], "Invalid plugin name", nameProblem(e.Name)))
	}
	content, d := b.Body.Content(lockEntrySchema)
	diags = append(diags, d...)
	if a, ok := content.Attributes["version"]; ok {
		e.Version, d = lockString(a)
		diags = append(diags, d...)
	}
	if a, ok := content.Attributes["sha256"]; ok {
		e.SHA256, d = lockString(a)
		if diags = append(diags, d...); !d.HasErrors() && !validSHA256(e.SHA256) {
			diags = append(diags, DiagAt(a.Expr.Range(), "Invalid sha256", shaProblem(e.SHA256)))
		}
	}
	return e, diags
}

// lockString decodes a string attribute of the lock file. It has no
// EvalContext: the lock file holds literals only.
func lockString(a *hcl.Attribute) (string, hcl.Diagnostics) {
	v, diags := EvalAttr(a, nil, cty.String)
	if diags.HasErrors() {
		return "", diags
	}
	if v.IsNull() {
		return "", hcl.Diagnostics{DiagAt(a.Expr.Range(), "Invalid value", fmt.Sprintf("The argument %q must be a string, not null.", a.Name))}
	}
	return v.AsString(), nil
}

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func shaProblem(s string) string {
	return fmt.Sprintf("%q is not a sha256 digest; want 64 lower-case hex characters.", s)
}

// Find returns the entry for the plugin named name (names are unique
// across kinds).
func (l *Lock) Find(name string) (LockEntry, bool) {
	for _, e := range l.Entries {
		if e.Name == name {
			return e, true
		}
	}
	return LockEntry{}, false
}

// Set adds e, or replaces the entry with the same name.
func (l *Lock) Set(e LockEntry) {
	for i := range l.Entries {
		if l.Entries[i].Name == e.Name {
			l.Entries[i] = e
			return
		}
	}
	l.Entries = append(l.Entries, e)
}

// Write writes the lock file atomically (a temporary file in the same
// directory, fsync, rename), mode 0644, entries sorted by kind then name.
// It refuses entries ReadLock would reject.
func (l *Lock) Write() error {
	if l.Path == "" {
		return fmt.Errorf("%w: no path", ErrInvalidLock)
	}
	data, err := l.encode()
	if err != nil {
		return err
	}
	return writeFileAtomic(l.Path, data, 0o644)
}

// encode renders the lock file; it fails on entries that would not read back.
func (l *Lock) encode() ([]byte, error) {
	entries := slices.Clone(l.Entries)
	slices.SortFunc(entries, func(a, b LockEntry) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(hclwrite.Tokens{
		{Type: hclsyntax.TokenComment, Bytes: []byte(lockHeader + "\n")},
	})
	seen := map[string]bool{}
	for _, e := range entries {
		if p := entryProblem(e); p != "" {
			return nil, fmt.Errorf("%w: plugin %s/%s: %s", ErrInvalidLock, e.Kind, e.Name, p)
		}
		if seen[e.Name] {
			return nil, fmt.Errorf("%w: plugin %q is pinned twice; names must be unique across kinds", ErrInvalidLock, e.Name)
		}
		seen[e.Name] = true
		body.AppendNewline()
		b := body.AppendNewBlock("plugin", []string{e.Kind, e.Name}).Body()
		b.SetAttributeValue("version", cty.StringVal(e.Version))
		b.SetAttributeValue("sha256", cty.StringVal(e.SHA256))
	}
	return hclwrite.Format(f.Bytes()), nil
}

// entryProblem says why Write must not write e, or returns "".
func entryProblem(e LockEntry) string {
	if _, ok := kinds[e.Kind]; !ok {
		return fmt.Sprintf("%q is not a plugin kind; valid kinds are %s.", e.Kind, validKinds)
	}
	if !validName(e.Name) {
		return nameProblem(e.Name)
	}
	if !validSHA256(e.SHA256) {
		return shaProblem(e.SHA256)
	}
	return ""
}

// writeFileAtomic replaces path with data so that readers see the old file
// or the new one, never a torn write, even across a crash.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err = tmp.Chmod(perm); err != nil { // CreateTemp makes it 0600
		return fmt.Errorf("config: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// Persist the rename itself; not every platform can sync a directory.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
