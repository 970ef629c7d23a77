package personal

import (
	"fmt"
	"strings"
)

// Get returns the value at a dotted path in doc, as `dpc context show PATH`
// does. A path that names nothing is an error wrapping ErrInvalidPath that
// says how far it got.
func Get(doc map[string]any, path string) (any, error) {
	segs, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	var cur any = doc
	for i, seg := range segs {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w %q: %s is %s, not an object", ErrInvalidPath, path, strings.Join(segs[:i], "."), describe(cur))
		}
		if cur, ok = m[seg]; !ok {
			where := "the context"
			if i > 0 {
				where = strings.Join(segs[:i], ".")
			}
			return nil, fmt.Errorf("%w %q: %s has no %q", ErrInvalidPath, path, where, seg)
		}
	}
	return cur, nil
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }
