package openai_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/dpc-go/dpc/plugins/llm-openai/openai"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// config is the plugin's config for the suite's settings.
func config(s llmhttptest.Settings) any {
	cfg := openai.DefaultConfig()
	cfg.BaseURL, cfg.APIKey, cfg.APIKeyFile = s.URL, s.APIKey, s.APIKeyFile
	cfg.TimeoutSeconds, cfg.IdleTimeoutSeconds = s.TimeoutSeconds, s.IdleTimeoutSeconds
	return cfg
}

// TestSuite runs the checks of every HTTP LLM plugin, with the OpenAI
// API's own answers, requests, errors and configs.
func TestSuite(t *testing.T) {
	t.Parallel()
	temp, topP, maxTokens := 0.0, 0.5, 128
	const defaultBody = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"my secret diary entry"}],` +
		`"stream":true,"stream_options":{"include_usage":true}}`
	missing := filepath.Join(t.TempDir(), "missing.key")
	llmhttptest.Suite(t, llmhttptest.Adapter{
		Name:         openai.Name,
		New:          func() sdk.LLM { return &openai.Plugin{} },
		Config:       config,
		Server:       newFake,
		StreamRoute:  chatRoute,
		Format:       llmhttptest.SSE,
		Partial:      `data: {"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}` + "\n\n",
		TakesKey:     true,
		WrongKeyText: "Incorrect API key provided",
		NoKeyHint:    `set api_key = env("OPENAI_API_KEY") or api_key_file`,
		Answers: map[string]llmhttptest.AnswerCase{
			"recorded OpenAI answer, usage in a last chunk without choices": {
				File:   "testdata/chat_stream.sse",
				Deltas: []string{"Hello", "!", " How can I", " help you today?"},
				Result: sdk.GenerateResult{FinishReason: "stop", Model: "gpt-4o-mini-2024-07-18", PromptTokens: 11, CompletionTokens: 9},
			},
			"llama.cpp answer cut by the token limit, comments, null content": {
				File:   "testdata/chat_llamacpp.sse",
				Deltas: []string{"Once upon", " a time"},
				Result: sdk.GenerateResult{FinishReason: "length", Model: "qwen2.5-7b-instruct-q4_k_m.gguf", PromptTokens: 17, CompletionTokens: 4},
			},
			"no [DONE] after the finish reason": {
				File:   "testdata/chat_no_done.sse",
				Deltas: []string{"Hi"},
				Result: sdk.GenerateResult{FinishReason: "stop", Model: "qwen2.5-7b-instruct-q4_k_m.gguf", PromptTokens: 5, CompletionTokens: 1},
			},
		},
		Requests: map[string]llmhttptest.RequestCase{
			"key from api_key, defaults": {
				Key:     llmhttptest.FromAPIKey,
				Request: sdk.GenerateRequest{Messages: []sdk.Message{user("my secret diary entry")}},
				Header:  map[string]string{"Authorization": "Bearer " + llmhttptest.Secret},
				Body:    defaultBody,
			},
			"key from api_key_file, every option": {
				Key: llmhttptest.FromAPIKeyFile,
				Request: sdk.GenerateRequest{
					Model: "llama-3.1-8b", Temperature: &temp, TopP: &topP, MaxTokens: &maxTokens, Stop: []string{"###"},
					Messages: []sdk.Message{
						{Role: sdk.RoleSystem, Content: "be brief"}, user("my secret diary entry"), {Role: sdk.RoleAssistant, Content: "ok"}, user("more"),
					},
				},
				Header: map[string]string{"Authorization": "Bearer " + llmhttptest.Secret},
				Body: `{"model":"llama-3.1-8b","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"my secret diary entry"},` +
					`{"role":"assistant","content":"ok"},{"role":"user","content":"more"}],"stream":true,"stream_options":{"include_usage":true},` +
					`"temperature":0,"top_p":0.5,"max_tokens":128,"stop":["###"]}`,
			},
			"no key": {
				Request: sdk.GenerateRequest{Messages: []sdk.Message{user("my secret diary entry")}},
				Header:  map[string]string{"Authorization": ""},
				Body:    defaultBody,
			},
		},
		Failures: map[string]llmhttptest.FailureCase{
			"error chunk mid-stream": {
				File: "testdata/chat_error.sse", Deltas: []string{"Hel"}, Err: sdk.ErrUnavailable, Kind: llmhttp.ErrServer,
				Texts: []string{"reported an error in the middle of the answer: The server had an error while processing your request."},
			},
			"error event mid-stream": {
				Answer: llmhttptest.SSE.Stream(`data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}`+"\n\n",
					"event: error\ndata: {\"error\":{\"message\":\"Rate limit exceeded\",\"type\":\"rate_limit_error\"}}\n\n"),
				Deltas: []string{"Hel"}, Err: sdk.ErrUnavailable, Kind: llmhttp.ErrRateLimited,
				Texts: []string{"in the middle of the answer: Rate limit exceeded"},
			},
			"stream ends before the finish": {
				File: "testdata/chat_truncated.sse", Deltas: []string{"Hello", "!"}, Err: sdk.ErrUnavailable, Kind: llmhttp.ErrDisconnected,
				Texts: []string{"ended the stream before the answer was complete"},
			},
			"no such model": {
				Answer: llmhttptest.JSONFile(t, http.StatusNotFound, "testdata/error_404_model.json"),
				Model:  "gpt-9", Err: sdk.ErrNotFound, Kind: llmhttp.ErrModelNotFound,
				Texts: []string{`has no model "gpt-9" (404 Not Found): The model ` + "`gpt-9`" + ` does not exist`},
			},
			"base_url without /v1": {
				URL: func(_ testing.TB, s *llmhttptest.Server) string { return s.URL },
				Err: sdk.ErrNotFound, Kind: llmhttp.ErrNoEndpoint,
				Texts: []string{"has no /chat/completions (404 Not Found)", "is the URL right?"},
			},
			"server ignores streaming": {
				Answer: llmhttptest.JSON(http.StatusOK,
					`{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}`),
				Kind:  llmhttp.ErrProtocol,
				Texts: []string{"ended the answer without sending anything (does it support streaming?)"},
			},
		},
		Configs: map[string]llmhttptest.ConfigCase{
			"OpenAI with a key":    {Config: json.RawMessage(`{"api_key":"sk-x"}`)},
			"local server, no key": {Config: json.RawMessage(`{"base_url":"http://127.0.0.1:8080/v1","model":"qwen","timeout_seconds":0.5,"idle_timeout_seconds":0}`)},
			"OpenAI without a key": {Config: json.RawMessage(`{}`), Path: "api_key", Text: `api_key = env("OPENAI_API_KEY")`},
			"base_url not http":    {Config: json.RawMessage(`{"base_url":"ws://127.0.0.1:8080/v1"}`), Path: "base_url", Text: "http:// or https://"},
			"base_url without host": {
				Config: json.RawMessage(`{"base_url":"https:///v1","api_key":"sk-x"}`), Path: "base_url", Text: "must name a host",
			},
			"base_url with a password": {
				Config: json.RawMessage(`{"base_url":"http://me:pw@127.0.0.1/v1"}`), Path: "base_url", Text: "user name or password",
			},
			"key and key file": {
				Config: json.RawMessage(`{"api_key":"sk-x","api_key_file":"/etc/k"}`), Path: "api_key_file", Text: "not both",
			},
			"relative key file": {
				Config: json.RawMessage(`{"api_key_file":"openai.key"}`), Path: "api_key_file", Text: "absolute path",
			},
			"missing key file": {
				Config: json.RawMessage(`{"api_key_file":"` + missing + `"}`), Path: "api_key_file", Text: `"` + missing + `" cannot be read`,
			},
			"empty model":      {Config: json.RawMessage(`{"api_key":"sk-x","model":""}`), Path: "model", Text: "must name a model"},
			"negative timeout": {Config: json.RawMessage(`{"api_key":"sk-x","timeout_seconds":-3}`), Path: "timeout_seconds", Text: "between 0"},
			"negative idle timeout": {
				Config: json.RawMessage(`{"api_key":"sk-x","idle_timeout_seconds":-1}`), Path: "idle_timeout_seconds", Text: "between 0",
			},
			"unknown attribute": {Config: json.RawMessage(`{"api_key":"sk-x","organization":"org-1"}`), Path: "organization", Text: "unknown attribute"},
		},
	})
}

func user(s string) sdk.Message { return sdk.Message{Role: sdk.RoleUser, Content: s} }

func TestListModels(t *testing.T) {
	t.Parallel()
	f := newFake(t, llmhttptest.Secret)
	h := sdktest.New(t, &openai.Plugin{})
	cfg := config(llmhttptest.Settings{URL: f.BaseURL, APIKey: llmhttptest.Secret, TimeoutSeconds: 10, IdleTimeoutSeconds: 10})
	if err := h.Configure(t, cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	models, err := h.Client.LLM.ListModels(context.Background())
	if err != nil {
		t.Fatalf("ListModels: %v", err)
	}
	local := []string{"local"}
	want := []sdk.Model{
		{ID: "ft:gpt-4o-mini-2024-07-18:acme::9xYz", DisplayName: "ft:gpt-4o-mini-2024-07-18:acme::9xYz", Description: "owned by user-abc", Labels: local},
		{ID: "gpt-4o", DisplayName: "gpt-4o", Description: "owned by system", Labels: local},
		{ID: "gpt-4o-mini", DisplayName: "gpt-4o-mini", Description: "owned by system", Labels: local},
	}
	if !reflect.DeepEqual(models, want) {
		t.Errorf("models:\nwant %+v\ngot  %+v", want, models)
	}
	if r := f.Last(t); r.Method != http.MethodGet || r.Path != "/v1/models" || r.Header.Get("Authorization") != "Bearer "+llmhttptest.Secret {
		t.Errorf("want GET /v1/models with the key, got %s %s", r.Method, r.Path)
	}
}
