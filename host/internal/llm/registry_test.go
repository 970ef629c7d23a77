package llm_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dpc-go/dpc/host/internal/llm"
	"github.com/dpc-go/dpc/sdk"
)

// fakeLLM offers fixed models.
type fakeLLM struct{ ids []string }

func (fakeLLM) Info() sdk.Info                                        { return sdk.Info{Name: "fake", Version: "0.0.1"} }
func (fakeLLM) Configure(context.Context, sdk.ConfigureRequest) error { return nil }
func (fakeLLM) Shutdown(context.Context) error                        { return nil }
func (f fakeLLM) ListModels(context.Context) ([]sdk.Model, error) {
	var out []sdk.Model
	for _, id := range f.ids {
		out = append(out, sdk.Model{ID: id})
	}
	return out, nil
}
func (fakeLLM) Generate(context.Context, sdk.GenerateRequest, func(string) error) (sdk.GenerateResult, error) {
	return sdk.GenerateResult{}, nil
}

// plugins is llm.Plugins over fakes, in order; a nil LLM is not running.
type plugins []struct {
	name string
	llm  sdk.LLM
}

func (p plugins) OfKind(kind sdk.Kind) []string {
	var ids []string
	for _, x := range p {
		if kind == sdk.KindLLM {
			ids = append(ids, "llm/"+x.name)
		}
	}
	return ids
}

func (p plugins) Client(id string) (*sdk.PluginClient, bool) {
	for _, x := range p {
		if "llm/"+x.name == id && x.llm != nil {
			return &sdk.PluginClient{LLM: x.llm}, true
		}
	}
	return nil, false
}

func TestResolve(t *testing.T) {
	t.Parallel()
	running := plugins{
		{"llm-down", nil},
		{"llm-local", fakeLLM{[]string{"retrieval"}}},
		{"llm-ollama", fakeLLM{[]string{"llama3:latest", "qwen3:8b"}}},
		{"llm-openai", fakeLLM{[]string{"meta-llama/Llama-3", "retrieval"}}},
	}
	tests := map[string]struct {
		plugins  plugins
		name     string
		provider string
		want     string // Ref of the model found
		wantErr  error
	}{
		"default is the first model of the first running plugin": {name: "", want: "llm-local/retrieval"},
		"by id":                          {name: "qwen3:8b", want: "llm-ollama/qwen3:8b"},
		"an id shared by two: the first": {name: "retrieval", want: "llm-local/retrieval"},
		"provider/id":                    {name: "llm-openai/retrieval", want: "llm-openai/retrieval"},
		"an id holding a slash":          {name: "meta-llama/Llama-3", want: "llm-openai/meta-llama/Llama-3"},
		"without the :latest tag":        {name: "llama3", want: "llm-ollama/llama3:latest"},
		"provider/id without the tag":    {name: "llm-ollama/llama3", want: "llm-ollama/llama3:latest"},
		"narrowed to a provider":         {name: "retrieval", provider: "llm-openai", want: "llm-openai/retrieval"},
		"unknown":                        {name: "gpt-9", wantErr: llm.ErrUnknownModel},
		"unknown provider":               {name: "x", provider: "llm-nope", wantErr: llm.ErrNoModels},
		"nothing running":                {plugins: plugins{{"llm-down", nil}}, name: "x", wantErr: llm.ErrNoModels},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := tc.plugins
			if p == nil {
				p = running
			}
			m, impl, err := llm.New(p, nil).Resolve(context.Background(), tc.name, tc.provider)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("want %v, got %v (%s)", tc.wantErr, err, m.Ref())
				}
				return
			}
			if err != nil || impl == nil || m.Ref() != tc.want {
				t.Fatalf("want %s, got %s (%v)", tc.want, m.Ref(), err)
			}
		})
	}
}
