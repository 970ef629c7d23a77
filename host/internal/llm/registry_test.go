package llm_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dpc-go/dpc/host/internal/llm"
	"github.com/dpc-go/dpc/host/internal/llm/llmtest"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	running := llmtest.Plugins{
		{Name: "llm-down"},
		{Name: "llm-local", LLM: llmtest.Offering("retrieval")},
		{Name: "llm-ollama", LLM: llmtest.Offering("llama3:latest", "qwen3:8b")},
		{Name: "llm-openai", LLM: llmtest.Offering("meta-llama/Llama-3", "retrieval")},
	}
	tests := map[string]struct {
		plugins  llmtest.Plugins
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
		"nothing running":                {plugins: llmtest.Plugins{{Name: "llm-down"}}, name: "x", wantErr: llm.ErrNoModels},
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
