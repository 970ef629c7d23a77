package intel_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/personal"
)

func TestMain(m *testing.M) {
	code := m.Run()
	nettest.Cleanup()
	os.Exit(code)
}

// fixedContext is a personal context that never changes.
type fixedContext struct {
	doc  map[string]any
	hash string
}

func newFixedContext(doc map[string]any) fixedContext {
	return fixedContext{doc: doc, hash: personal.Hash(doc)}
}

func (f fixedContext) View() (map[string]any, string) { return f.doc, f.hash }

// loadContext reads a personal.json fixture.
func loadContext(tb testing.TB, path string) map[string]any {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		tb.Fatal(err)
	}
	return doc
}

// loadRules parses firewall rules from text.
func loadRules(tb testing.TB, src string) *firewall.Engine {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "firewall.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		tb.Fatal(err)
	}
	e, err := firewall.Load(path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}
