package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/plugins/llm-anthropic/anthropic"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// config is the plugin's config for the suite's settings.
func config(s llmhttptest.Settings) any {
	cfg := anthropic.DefaultConfig()
	cfg.BaseURL, cfg.APIKey, cfg.APIKeyFile = s.URL, s.APIKey, s.APIKeyFile
	cfg.TimeoutSeconds, cfg.IdleTimeoutSeconds = s.TimeoutSeconds, s.IdleTimeoutSeconds
	return cfg
}

// TestSuite runs the checks of every HTTP LLM plugin, with the Anthropic
// API's own answers, requests, errors and configs.
func TestSuite(t *testing.T) {
	t.Parallel()
	temp, topP, maxTokens := 0.7, 0.95, 256
	header := map[string]string{
		"X-Api-Key": llmhttptest.Secret, "Anthropic-Version": "2023-06-01", "Content-Type": "application/json", "Authorization": "",
	}
	empty := llmhttptest.TempFile(t, "empty.key", "\n")
	llmhttptest.Suite(t, llmhttptest.Adapter{
		Name:         anthropic.Name,
		New:          func() sdk.LLM { return &anthropic.Plugin{} },
		Config:       config,
		Server:       newFake,
		StreamRoute:  messagesRoute,
		Format:       llmhttptest.SSE,
		Partial:      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n",
		TakesKey:     true,
		WrongKeyText: "invalid x-api-key",
		Answers: map[string]llmhttptest.AnswerCase{
			"recorded answer with a ping": {
				File:   "testdata/messages_stream.sse",
				Deltas: []string{"Hello", "! How can I", " help you today?"},
				Result: sdk.GenerateResult{FinishReason: "stop", Model: "claude-sonnet-4-5-20250929", PromptTokens: 21, CompletionTokens: 12},
			},
			"thinking not passed on, cache tokens counted, cut by max_tokens": {
				File:   "testdata/messages_max_tokens.sse",
				Deltas: []string{"Once upon", " a time"},
				Result: sdk.GenerateResult{FinishReason: "length", Model: "claude-3-5-haiku-20241022", PromptTokens: 1508, CompletionTokens: 4},
			},
		},
		Requests: map[string]llmhttptest.RequestCase{
			"key from api_key, defaults": {
				Key:     llmhttptest.FromAPIKey,
				Request: sdk.GenerateRequest{Messages: []sdk.Message{user("my secret diary entry")}},
				Header:  header,
				Body: `{"model":"claude-sonnet-4-5","max_tokens":1024,` +
					`"messages":[{"role":"user","content":"my secret diary entry"}],"stream":true}`,
			},
			"key from api_key_file, system messages joined, every option": {
				Key: llmhttptest.FromAPIKeyFile,
				Request: sdk.GenerateRequest{
					Model: "claude-opus-4-1", Temperature: &temp, TopP: &topP, MaxTokens: &maxTokens, Stop: []string{"\n\nHuman:"},
					Messages: []sdk.Message{
						{Role: sdk.RoleSystem, Content: "You are brief."},
						user("my secret diary entry"),
						{Role: sdk.RoleAssistant, Content: "Noted."},
						{Role: sdk.RoleSystem, Content: "Context: the user is Ana."},
						{Role: sdk.RoleUser, Content: "  "},
						user("more"),
					},
				},
				Header: header,
				Body: `{"model":"claude-opus-4-1","max_tokens":256,"system":"You are brief.\n\nContext: the user is Ana.",` +
					`"messages":[{"role":"user","content":"my secret diary entry"},{"role":"assistant","content":"Noted."},` +
					`{"role":"user","content":"more"}],"stream":true,"temperature":0.7,"top_p":0.95,"stop_sequences":["\n\nHuman:"]}`,
			},
		},
		Failures: map[string]llmhttptest.FailureCase{
			"overloaded error event mid-stream": {
				File: "testdata/messages_overloaded.sse", Deltas: []string{"Hel"}, Err: sdk.ErrUnavailable, Kind: llmhttp.ErrServer,
				Texts: []string{"the Anthropic API at http://127.0.0.1:", "reported an error in the middle of the answer: Overloaded (overloaded_error)"},
			},
			"stream ends before message_stop": {
				File: "testdata/messages_truncated.sse", Deltas: []string{"Hello"}, Err: sdk.ErrUnavailable, Kind: llmhttp.ErrDisconnected,
				Texts: []string{"ended the stream before the answer was complete"},
			},
			"no such model": {
				Answer: llmhttptest.JSONFile(t, http.StatusNotFound, "testdata/error_404_model.json"),
				Model:  "claude-9", Err: sdk.ErrNotFound, Kind: llmhttp.ErrModelNotFound,
				Texts: []string{`has no model "claude-9" (404 Not Found): model: claude-9`},
			},
			"overloaded before the stream": {
				Answer: llmhttptest.JSON(529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}`),
				Err:    sdk.ErrUnavailable, Kind: llmhttp.ErrServer,
				Texts: []string{"failed (529): Overloaded"},
			},
			"rejected request": {
				Answer: llmhttptest.JSON(http.StatusBadRequest,
					`{"type":"error","error":{"type":"invalid_request_error","message":"temperature and top_p cannot both be specified for this model."}}`),
				Err: sdk.ErrInvalidArgument, Kind: llmhttp.ErrBadRequest,
				Texts: []string{"rejected the request (400 Bad Request): temperature and top_p cannot both be specified"},
			},
		},
		Configs: map[string]llmhttptest.ConfigCase{
			"key only": {Config: json.RawMessage(`{"api_key":"sk-ant-x"}`)},
			"everything": {Config: json.RawMessage(`{"base_url":"https://proxy.example/anthropic","model":"claude-opus-4-1","api_key":"sk-ant-x",` +
				`"max_tokens":4096,"timeout_seconds":30,"idle_timeout_seconds":0.5}`)},
			"no key": {
				Config: json.RawMessage(`{}`), Path: "api_key",
				Text: `set api_key = env("ANTHROPIC_API_KEY") (the variable must be set where dpc runs) or api_key_file`,
			},
			"empty key":    {Config: json.RawMessage(`{"api_key":""}`), Path: "api_key", Text: "an API key is required"},
			"key and file": {Config: json.RawMessage(`{"api_key":"sk-ant-x","api_key_file":"/k"}`), Path: "api_key_file", Text: "not both"},
			"empty key file": {
				Config: json.RawMessage(`{"api_key_file":"` + empty + `"}`), Path: "api_key_file", Text: `the API key file "` + empty + `" is empty`,
			},
			"base_url not http": {Config: json.RawMessage(`{"api_key":"sk-ant-x","base_url":"api.anthropic.com"}`), Path: "base_url", Text: "http:// or https://"},
			"zero max_tokens":   {Config: json.RawMessage(`{"api_key":"sk-ant-x","max_tokens":0}`), Path: "max_tokens", Text: "at least 1"},
			"negative timeout":  {Config: json.RawMessage(`{"api_key":"sk-ant-x","timeout_seconds":-1}`), Path: "timeout_seconds", Text: "between 0"},
			"negative idle timeout": {
				Config: json.RawMessage(`{"api_key":"sk-ant-x","idle_timeout_seconds":-1}`), Path: "idle_timeout_seconds", Text: "between 0",
			},
			"empty model":       {Config: json.RawMessage(`{"api_key":"sk-ant-x","model":""}`), Path: "model", Text: "must name a model"},
			"unknown attribute": {Config: json.RawMessage(`{"api_key":"sk-ant-x","version":"2023-06-01"}`), Path: "version", Text: "unknown attribute"},
		},
	})
}

func user(s string) sdk.Message { return sdk.Message{Role: sdk.RoleUser, Content: s} }

// served configures a plugin served over gRPC, as dpc runs it, against f.
func served(t *testing.T, f *llmhttptest.Server) sdk.LLM {
	t.Helper()
	h := sdktest.New(t, &anthropic.Plugin{})
	cfg := config(llmhttptest.Settings{URL: f.BaseURL, APIKey: llmhttptest.Secret, TimeoutSeconds: 10, IdleTimeoutSeconds: 10})
	if err := h.Configure(t, cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return h.Client.LLM
}

func TestNoMessages(t *testing.T) {
	t.Parallel()
	_, err := served(t, newFake(t, llmhttptest.Secret)).Generate(context.Background(),
		sdk.GenerateRequest{Messages: []sdk.Message{{Role: sdk.RoleSystem, Content: "only a system prompt"}}}, func(string) error { return nil })
	if !errors.Is(err, sdk.ErrInvalidArgument) || !strings.Contains(err.Error(), "at least one user or assistant message") {
		t.Errorf("want sdk.ErrInvalidArgument naming the problem, got %v", err)
	}
}

func TestListModels(t *testing.T) {
	t.Parallel()
	f := newFake(t, llmhttptest.Secret)
	models, err := served(t, f).ListModels(context.Background())
	if err != nil {
		t.Fatalf("ListModels: %v", err)
	}
	want := []sdk.Model{
		{ID: "claude-sonnet-4-5-20250929", DisplayName: "Claude Sonnet 4.5"},
		{ID: "claude-opus-4-1-20250805", DisplayName: "Claude Opus 4.1"},
		{ID: "claude-3-5-haiku-20241022", DisplayName: "Claude Haiku 3.5"},
	}
	if !reflect.DeepEqual(models, want) {
		t.Errorf("models (both pages):\nwant %+v\ngot  %+v", want, models)
	}
	if r := f.Last(t); r.Path != "/v1/models" || r.Query != "limit=1000&after_id=claude-opus-4-1-20250805" {
		t.Errorf("want the second page asked for after the first's last_id, got %s?%s", r.Path, r.Query)
	}
}
