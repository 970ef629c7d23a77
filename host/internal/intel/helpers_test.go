package intel_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/personal"
	"github.com/dpc-go/dpc/sdk"
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

func (f fixedContext) Current() (map[string]any, string) { return f.doc, f.hash }

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

// echoLLM is an in-process LLM that answers at once with a fixed text and
// records the last prompt.
type echoLLM struct {
	answer string
	last   *[]sdk.Message
}

func (echoLLM) Info() sdk.Info                                        { return sdk.Info{Name: "echo", Version: "0.0.1"} }
func (echoLLM) Shutdown(context.Context) error                        { return nil }
func (echoLLM) Configure(context.Context, sdk.ConfigureRequest) error { return nil }
func (echoLLM) ListModels(context.Context) ([]sdk.Model, error) {
	return []sdk.Model{{ID: "echo"}}, nil
}

func (e echoLLM) Generate(_ context.Context, req sdk.GenerateRequest, emit func(string) error) (sdk.GenerateResult, error) {
	if e.last != nil {
		*e.last = req.Messages
	}
	if err := emit(e.answer); err != nil {
		return sdk.GenerateResult{}, err
	}
	return sdk.GenerateResult{FinishReason: "stop", Model: "echo", CompletionTokens: len(strings.Fields(e.answer))}, nil
}

// inProcess is llm.Plugins with one in-process LLM plugin, "llm-echo".
type inProcess struct{ llm sdk.LLM }

func (p inProcess) OfKind(kind sdk.Kind) []string {
	if kind == sdk.KindLLM && p.llm != nil {
		return []string{"llm/llm-echo"}
	}
	return nil
}

func (p inProcess) Client(id string) (*sdk.PluginClient, bool) {
	if id != "llm/llm-echo" || p.llm == nil {
		return nil, false
	}
	return &sdk.PluginClient{LLM: p.llm}, true
}
