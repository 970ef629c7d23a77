package personal

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dpc-go/dpc/config"
)

// FuzzParse feeds arbitrary bytes as personal.json. Parse must never
// panic: it returns a *config.Error wrapping ErrInvalidContext whose every
// problem points into the file, or a context that survives being written
// and read back with the same hash, and that Set can work on.
func FuzzParse(f *testing.F) {
	paths, err := filepath.Glob("testdata/parse/*.json")
	if err != nil {
		f.Fatal(err)
	}
	paths = append(paths, "testdata/personal.json")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(Default("fuzz", time.Unix(0, 0)))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.json")
		if err != nil {
			var cerr *config.Error
			if !errors.Is(err, ErrInvalidContext) || !errors.As(err, &cerr) || err.Error() == "" {
				t.Fatalf("want a non-empty *config.Error wrapping ErrInvalidContext, got %T %v", err, err)
			}
			for i, d := range cerr.Diags {
				if i == maxProblems && d.Summary == "Too many problems" && d.Subject == nil {
					continue
				}
				if d.Subject == nil || d.Subject.Filename != "fuzz.json" || d.Subject.Start.Line < 1 ||
					d.Subject.Start.Column < 1 || d.Subject.Start.Byte < 0 || d.Subject.Start.Byte > len(data) {
					t.Fatalf("want every problem at a position in fuzz.json, got %q at %v", d.Summary, d.Subject)
				}
			}
			return
		}
		doc := c.Doc()
		if Hash(doc) != c.Hash() {
			t.Fatalf("want Hash of Doc to be the context's hash")
		}
		out, err := encode(doc)
		if err != nil {
			t.Fatalf("want a parsed document to encode, got %v", err)
		}
		again, err := Parse(out, "again.json")
		if err != nil {
			t.Fatalf("want the written document to parse, got %v\n%s", err, out)
		}
		if again.Hash() != c.Hash() {
			t.Fatalf("want the same hash after writing and reading back, got %s then %s\n%s", c.Hash(), again.Hash(), out)
		}
		// Set either works, leaving a valid document, or changes nothing.
		before := Hash(doc)
		if err := Set(doc, "profile.name", "fuzz"); err != nil {
			if Hash(doc) != before {
				t.Fatalf("want a failed Set to change nothing, got %v", err)
			}
		} else if problems := validate(doc); len(problems) > 0 {
			t.Fatalf("want a valid document after Set, got %v", problems)
		}
	})
}
