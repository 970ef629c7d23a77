package ollama_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/dpc-go/dpc/plugins/llm-ollama/ollama"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// config is the plugin's config for the suite's settings.
func config(s llmhttptest.Settings) any {
	cfg := ollama.DefaultConfig()
	cfg.Host, cfg.TimeoutSeconds, cfg.IdleTimeoutSeconds = s.URL, s.TimeoutSeconds, s.IdleTimeoutSeconds
	return cfg
}

// TestSuite runs the checks of every HTTP LLM plugin, with Ollama's own
// answers, requests, errors and configs.
func TestSuite(t *testing.T) {
	t.Parallel()
	temp, topP, maxTokens := 0.25, 0.9, 64
	llmhttptest.Suite(t, llmhttptest.Adapter{
		Name:        ollama.Name,
		New:         func() sdk.LLM { return &ollama.Plugin{} },
		Config:      config,
		Server:      newFake,
		StreamRoute: chatRoute,
		Format:      llmhttptest.NDJSON,
		Partial:     `{"model":"llama3","message":{"role":"assistant","content":"Hel"},"done":false}` + "\n",
		Answers: map[string]llmhttptest.AnswerCase{
			"recorded answer": {
				File:   "testdata/chat_stream.ndjson",
				Deltas: []string{"Hello", "!", " How", " can I help", " you today?"},
				Result: sdk.GenerateResult{FinishReason: "stop", Model: "llama3", PromptTokens: 26, CompletionTokens: 8},
			},
			"cut by the token limit, model named in the request": {
				File: "testdata/chat_length.ndjson", Model: "qwen2.5:0.5b",
				Deltas: []string{"Once upon", " a time"},
				Result: sdk.GenerateResult{FinishReason: "length", Model: "qwen2.5:0.5b", PromptTokens: 12, CompletionTokens: 4},
			},
		},
		Requests: map[string]llmhttptest.RequestCase{
			"defaults": {
				Request: sdk.GenerateRequest{Messages: []sdk.Message{user("my secret diary entry")}},
				Body:    `{"model":"llama3","messages":[{"role":"user","content":"my secret diary entry"}],"stream":true}`,
			},
			"every option, model override, all roles": {
				Request: sdk.GenerateRequest{
					Model: "qwen2.5:0.5b", Temperature: &temp, TopP: &topP, MaxTokens: &maxTokens, Stop: []string{"\n\n", "END"},
					Messages: []sdk.Message{
						{Role: sdk.RoleSystem, Content: "be brief"}, user("my secret diary entry"),
						{Role: sdk.RoleAssistant, Content: "ok"}, user("more"),
					},
				},
				Body: `{"model":"qwen2.5:0.5b","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"my secret diary entry"},` +
					`{"role":"assistant","content":"ok"},{"role":"user","content":"more"}],"stream":true,` +
					`"options":{"temperature":0.25,"top_p":0.9,"num_predict":64,"stop":["\n\n","END"]}}`,
			},
		},
		Failures: map[string]llmhttptest.FailureCase{
			"error line mid-stream": {
				File: "testdata/chat_error.ndjson", Deltas: []string{"Hel"}, Err: sdk.ErrUnavailable, Kind: llmhttp.ErrServer,
				Texts: []string{"llm-ollama: Ollama at http://127.0.0.1:",
					"failed in the middle of the answer: an error was encountered while running the model: unexpected EOF"},
			},
			"stream ends before done": {
				File: "testdata/chat_truncated.ndjson", Deltas: []string{"Hello", "!"}, Err: sdk.ErrUnavailable, Kind: llmhttp.ErrDisconnected,
				Texts: []string{"ended the stream before the answer was complete"},
			},
			"not JSON mid-stream": {
				File: "testdata/chat_garbage.ndjson", Deltas: []string{"Hello"}, Kind: llmhttp.ErrProtocol,
				Texts: []string{"a line of the answer from", "is not the JSON expected"},
			},
			"model not pulled": {
				Answer: llmhttptest.JSON(http.StatusNotFound, `{"error":"model \"mistral\" not found, try pulling it first"}`),
				Model:  "mistral", Err: sdk.ErrNotFound, Kind: llmhttp.ErrModelNotFound,
				Texts: []string{`has no model "mistral"`, "try pulling it first"},
			},
		},
		Configs: map[string]llmhttptest.ConfigCase{
			"defaults":              {Config: json.RawMessage(`{}`)},
			"everything set":        {Config: json.RawMessage(`{"host":"http://10.0.0.2:11434","model":"qwen2.5:7b","timeout_seconds":300,"idle_timeout_seconds":0.5}`)},
			"host without scheme":   {Config: json.RawMessage(`{"host":"127.0.0.1:11434"}`), Path: "host", Text: "http:// or https://"},
			"host without host":     {Config: json.RawMessage(`{"host":"http://"}`), Path: "host", Text: "must name a host"},
			"empty model":           {Config: json.RawMessage(`{"model":" "}`), Path: "model", Text: "must name a model"},
			"negative timeout":      {Config: json.RawMessage(`{"timeout_seconds":-1}`), Path: "timeout_seconds", Text: "between 0"},
			"negative idle timeout": {Config: json.RawMessage(`{"idle_timeout_seconds":-0.5}`), Path: "idle_timeout_seconds", Text: "between 0"},
			"timeout as a string":   {Config: json.RawMessage(`{"timeout_seconds":"30s"}`), Path: "timeout_seconds", Text: "want a number"},
			"unknown attribute":     {Config: json.RawMessage(`{"api_key":"x"}`), Path: "api_key", Text: "unknown attribute"},
		},
	})
}

func user(s string) sdk.Message { return sdk.Message{Role: sdk.RoleUser, Content: s} }

func TestListModels(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	h := sdktest.New(t, &ollama.Plugin{})
	if err := h.Configure(t, config(llmhttptest.Settings{URL: f.BaseURL, TimeoutSeconds: 10, IdleTimeoutSeconds: 10})); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	models, err := h.Client.LLM.ListModels(context.Background())
	if err != nil {
		t.Fatalf("ListModels: %v", err)
	}
	want := []sdk.Model{
		{ID: "llama3:latest", DisplayName: "llama3:latest", Description: "llama · 8.0B · Q4_0", Labels: []string{"ollama", "local"}},
		{ID: "qwen2.5:0.5b", DisplayName: "qwen2.5:0.5b", Description: "qwen2 · 494.03M · Q4_K_M", Labels: []string{"ollama", "local"}},
	}
	if !reflect.DeepEqual(models, want) {
		t.Errorf("models:\nwant %+v\ngot  %+v", want, models)
	}
	if r := f.Last(t); r.Method != http.MethodGet || r.Path != "/api/tags" {
		t.Errorf("want GET /api/tags, got %s %s", r.Method, r.Path)
	}
}
