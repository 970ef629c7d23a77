package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/plugins/llm-openai/openai"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// secret is the test API key; no log or error may contain it.
const secret = "sk-test-5f2b9c0e7d1a4c3bb8e6cdef"

// short is the timeout of the timeout tests; bound is how long any failure
// may take to surface.
const (
	short = 0.2 // seconds
	bound = 3 * time.Second
)

// testConfig points the plugin at url with the test key, with timeouts
// generous enough for the race detector unless a test shortens them.
func testConfig(url string) *openai.Config {
	cfg := openai.DefaultConfig()
	cfg.BaseURL, cfg.APIKey, cfg.TimeoutSeconds, cfg.IdleTimeoutSeconds = url, secret, 10, 10
	return cfg
}

// TestConformance runs the SDK's checks over real gRPC, with the LLM round
// trip against a fake OpenAI server that insists on the key.
func TestConformance(t *testing.T) {
	t.Parallel()
	sdktest.Conformance(t, func() sdk.Plugin { return &openai.Plugin{} }, sdktest.Options{
		Config: func(t testing.TB) any {
			f := newFake(t)
			f.requireKey(secret)
			return testConfig(f.url)
		},
	})
}

// served configures a plugin served over gRPC, as dpc runs it.
func served(t *testing.T, cfg *openai.Config) sdk.LLM {
	t.Helper()
	h := sdktest.New(t, &openai.Plugin{})
	if err := h.Configure(t, cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return h.Client.LLM
}

// direct configures a plugin in-process with a logger writing to a buffer.
func direct(t *testing.T, cfg *openai.Config) (*openai.Plugin, *syncBuffer) {
	t.Helper()
	var logs syncBuffer
	p := &openai.Plugin{}
	err := p.Configure(context.Background(), sdk.ConfigureRequest{
		Config: cfg, Logger: hclog.New(&hclog.LoggerOptions{Name: openai.Name, Output: &logs, Level: hclog.Trace}),
	})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p, &logs
}

func user(s string) sdk.Message { return sdk.Message{Role: sdk.RoleUser, Content: s} }

func collect(deltas *[]string) func(string) error {
	return func(d string) error { *deltas = append(*deltas, d); return nil }
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		file       string
		wantDeltas []string
		wantResult sdk.GenerateResult
	}{
		"recorded OpenAI answer, usage in a last chunk without choices": {
			file:       "chat_stream.sse",
			wantDeltas: []string{"Hello", "!", " How can I", " help you today?"},
			wantResult: sdk.GenerateResult{FinishReason: "stop", Model: "gpt-4o-mini-2024-07-18", PromptTokens: 11, CompletionTokens: 9},
		},
		"llama.cpp answer cut by the token limit, comments, null content": {
			file:       "chat_llamacpp.sse",
			wantDeltas: []string{"Once upon", " a time"},
			wantResult: sdk.GenerateResult{FinishReason: "length", Model: "qwen2.5-7b-instruct-q4_k_m.gguf", PromptTokens: 17, CompletionTokens: 4},
		},
		"no [DONE] after the finish reason": {
			file:       "chat_no_done.sse",
			wantDeltas: []string{"Hi"},
			wantResult: sdk.GenerateResult{FinishReason: "stop", Model: "qwen2.5-7b-instruct-q4_k_m.gguf", PromptTokens: 5, CompletionTokens: 1},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.set(tc.file, nil)
			var deltas []string
			res, err := served(t, testConfig(f.url)).Generate(context.Background(),
				sdk.GenerateRequest{Messages: []sdk.Message{user("Say hello.")}}, collect(&deltas))
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if !slices.Equal(deltas, tc.wantDeltas) {
				t.Errorf("deltas: want %q, got %q", tc.wantDeltas, deltas)
			}
			if res != tc.wantResult {
				t.Errorf("result: want %+v, got %+v", tc.wantResult, res)
			}
		})
	}
}

func TestRequestShape(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "openai.key")
	if err := os.WriteFile(keyFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	temp, topP, maxTokens := 0.0, 0.5, 128
	const prompt = "my secret diary entry"
	tests := map[string]struct {
		key, keyFile string
		req          sdk.GenerateRequest
		wantAuth     string
		want         string
	}{
		"key from api_key, defaults": {
			key: secret, wantAuth: "Bearer " + secret,
			req: sdk.GenerateRequest{Messages: []sdk.Message{user(prompt)}},
			want: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"my secret diary entry"}],` +
				`"stream":true,"stream_options":{"include_usage":true}}`,
		},
		"key from api_key_file, every option": {
			keyFile: keyFile, wantAuth: "Bearer " + secret,
			req: sdk.GenerateRequest{
				Model: "llama-3.1-8b", Temperature: &temp, TopP: &topP, MaxTokens: &maxTokens, Stop: []string{"###"},
				Messages: []sdk.Message{
					{Role: sdk.RoleSystem, Content: "be brief"}, user(prompt), {Role: sdk.RoleAssistant, Content: "ok"}, user("more"),
				},
			},
			want: `{"model":"llama-3.1-8b","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"my secret diary entry"},` +
				`{"role":"assistant","content":"ok"},{"role":"user","content":"more"}],"stream":true,"stream_options":{"include_usage":true},` +
				`"temperature":0,"top_p":0.5,"max_tokens":128,"stop":["###"]}`,
		},
		"no key": {
			req: sdk.GenerateRequest{Messages: []sdk.Message{user(prompt)}},
			want: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"my secret diary entry"}],` +
				`"stream":true,"stream_options":{"include_usage":true}}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			cfg := testConfig(f.url)
			cfg.APIKey, cfg.APIKeyFile = tc.key, tc.keyFile
			p, logs := direct(t, cfg)
			var deltas []string
			if _, err := p.Generate(context.Background(), tc.req, collect(&deltas)); err != nil {
				t.Fatalf("Generate: %v", err)
			}
			r := f.last(t)
			if r.method != http.MethodPost || r.path != "/v1/chat/completions" {
				t.Errorf("want POST /v1/chat/completions, got %s %s", r.method, r.path)
			}
			if got := r.header.Get("Authorization"); got != tc.wantAuth {
				t.Errorf("Authorization: want %q, got %q", tc.wantAuth, got)
			}
			if got := r.header.Get("Accept"); got != "text/event-stream" {
				t.Errorf("Accept: want text/event-stream, got %q", got)
			}
			var want map[string]any
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			if got := f.lastBody(t); !reflect.DeepEqual(got, want) {
				t.Errorf("request body:\nwant %v\ngot  %v", want, got)
			}
			out := logs.String()
			if strings.Contains(out, secret) {
				t.Errorf("the logs contain the API key:\n%s", out)
			}
			if strings.Contains(out, prompt) || strings.Contains(out, "help you today") {
				t.Errorf("the logs contain message text:\n%s", out)
			}
			if !strings.Contains(out, "prompt_bytes=") || !strings.Contains(out, "completion_tokens=9") {
				t.Errorf("want debug lines with sizes and usage, got:\n%s", out)
			}
		})
	}
}

func TestListModels(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.requireKey(secret)
	models, err := served(t, testConfig(f.url)).ListModels(context.Background())
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
	if r := f.last(t); r.method != http.MethodGet || r.path != "/v1/models" || r.header.Get("Authorization") != "Bearer "+secret {
		t.Errorf("want GET /v1/models with the key, got %s %s", r.method, r.path)
	}
}

// TestKeyErrors checks what the user reads when the server refuses the
// key, over gRPC as dpc sees it, and that the key appears nowhere.
func TestKeyErrors(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "openai.key")
	if err := os.WriteFile(keyFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		key, keyFile string
		wantTexts    []string
	}{
		"wrong api_key": {
			key:       secret,
			wantTexts: []string{"llm-openai: server at http://127.0.0.1:", "rejected the API key from api_key (401 Unauthorized): Incorrect API key provided"},
		},
		"wrong api_key_file": {
			keyFile:   keyFile,
			wantTexts: []string{`rejected the API key from api_key_file "` + keyFile + `" (401 Unauthorized)`},
		},
		"no key where one is wanted": {
			wantTexts: []string{"wants an API key and none is configured (401 Unauthorized)", `set api_key = env("OPENAI_API_KEY") or api_key_file`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.requireKey("sk-the-right-one")
			cfg := testConfig(f.url)
			cfg.APIKey, cfg.APIKeyFile = tc.key, tc.keyFile
			llm := served(t, cfg)
			_, gerr := llm.Generate(context.Background(), sdk.GenerateRequest{Messages: []sdk.Message{user("hi")}}, func(string) error { return nil })
			_, lerr := llm.ListModels(context.Background())
			for _, err := range []error{gerr, lerr} {
				if !errors.Is(err, sdk.ErrPermissionDenied) {
					t.Errorf("want sdk.ErrPermissionDenied, got %v", err)
					continue
				}
				for _, text := range tc.wantTexts {
					if !strings.Contains(err.Error(), text) {
						t.Errorf("want the message to contain %q, got %q", text, err.Error())
					}
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error contains the key: %v", err)
				}
			}
		})
	}
}

// TestFailures checks each failure over gRPC, as the host sees it: the sdk
// sentinel survives, the message says what happened, and it comes quickly.
func TestFailures(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		url        func(t *testing.T) string
		file       string
		chat       func(f *fakeOpenAI) http.HandlerFunc
		model      string
		short      bool // use the short timeouts
		wantDeltas []string
		wantErr    error
		wantTexts  []string
	}{
		"server down": {
			url:     func(t *testing.T) string { return closedPort(t) + "/v1" },
			wantErr: sdk.ErrUnavailable, wantTexts: []string{"llm-openai: server at http://127.0.0.1:", "/v1 is not reachable (is it running?)"},
		},
		"accepts and never answers": {
			url:     func(t *testing.T) string { return silentServer(t) + "/v1" },
			short:   true,
			wantErr: sdk.ErrUnavailable, wantTexts: []string{"llm-openai: no answer from http://127.0.0.1:", "within 200ms"},
		},
		"stops mid-stream": {
			chat: func(f *fakeOpenAI) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					streamEvents(w, `data: {"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}`+"\n\n")
					f.hang(r)
				}
			},
			short:      true,
			wantDeltas: []string{"Hel"},
			wantErr:    sdk.ErrUnavailable, wantTexts: []string{"stopped sending in the middle of the answer (nothing for 200ms)"},
		},
		"error chunk mid-stream": {
			file: "chat_error.sse", wantDeltas: []string{"Hel"},
			wantErr:   sdk.ErrUnavailable,
			wantTexts: []string{"reported an error in the middle of the answer: The server had an error while processing your request."},
		},
		"error event mid-stream": {
			chat: func(*fakeOpenAI) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					streamEvents(w, `data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}`+"\n\n",
						"event: error\ndata: {\"error\":{\"message\":\"Rate limit exceeded\",\"type\":\"rate_limit_error\"}}\n\n")
				}
			},
			wantDeltas: []string{"Hel"},
			wantErr:    sdk.ErrUnavailable, wantTexts: []string{"in the middle of the answer: Rate limit exceeded"},
		},
		"stream ends before the finish": {
			file: "chat_truncated.sse", wantDeltas: []string{"Hello", "!"},
			wantErr: sdk.ErrUnavailable, wantTexts: []string{"ended the stream before the answer was complete"},
		},
		"no such model": {
			chat: func(f *fakeOpenAI) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusNotFound)
					_, _ = w.Write(readTestdata(f.t, "error_404_model.json"))
				}
			},
			model:   "gpt-9",
			wantErr: sdk.ErrNotFound, wantTexts: []string{`has no model "gpt-9" (404 Not Found): The model ` + "`gpt-9`" + ` does not exist`},
		},
		"base_url without /v1": {
			url:     func(t *testing.T) string { return newFake(t).srv.URL },
			wantErr: sdk.ErrNotFound, wantTexts: []string{"has no /chat/completions (404 Not Found)", "is the URL right?"},
		},
		"server ignores streaming": {
			chat: func(*fakeOpenAI) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write([]byte(`{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}`))
				}
			},
			wantTexts: []string{"ended the answer without sending anything (does it support streaming?)"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			if tc.file != "" || tc.chat != nil {
				var chat http.HandlerFunc
				if tc.chat != nil {
					chat = tc.chat(f)
				}
				f.set(tc.file, chat)
			}
			cfg := testConfig(f.url)
			if tc.url != nil {
				cfg.BaseURL = tc.url(t)
			}
			if tc.short {
				cfg.TimeoutSeconds, cfg.IdleTimeoutSeconds = short, short
			}
			llm := served(t, cfg)
			start := time.Now()
			var deltas []string
			_, err := llm.Generate(context.Background(), sdk.GenerateRequest{Model: tc.model, Messages: []sdk.Message{user("hi")}}, collect(&deltas))
			if elapsed := time.Since(start); elapsed > bound {
				t.Errorf("want the failure within %v, took %v", bound, elapsed)
			}
			if err == nil {
				t.Fatalf("want an error, got none (deltas %q)", deltas)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("want errors.Is(err, %v), got %v", tc.wantErr, err)
			}
			for _, text := range tc.wantTexts {
				if !strings.Contains(err.Error(), text) {
					t.Errorf("want the message to contain %q, got %q", text, err.Error())
				}
			}
			if !slices.Equal(deltas, tc.wantDeltas) {
				t.Errorf("deltas before the failure: want %q, got %q", tc.wantDeltas, deltas)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error contains the key: %v", err)
			}
		})
	}
}

// TestFailureKinds checks the llmhttp kinds in-process, where they are
// not yet reduced to sdk sentinels.
func TestFailureKinds(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		file string
		down bool
		want error
	}{
		"server down":  {down: true, want: llmhttp.ErrUnreachable},
		"server error": {file: "chat_error.sse", want: llmhttp.ErrServer},
		"truncated":    {file: "chat_truncated.sse", want: llmhttp.ErrDisconnected},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.set(tc.file, nil)
			cfg := testConfig(f.url)
			if tc.down {
				cfg.BaseURL = closedPort(t)
			}
			p, _ := direct(t, cfg)
			_, err := p.Generate(context.Background(), sdk.GenerateRequest{Messages: []sdk.Message{user("hi")}}, func(string) error { return nil })
			if !errors.Is(err, tc.want) {
				t.Errorf("want errors.Is(err, %v), got %v", tc.want, err)
			}
		})
	}
}

func TestCancelStopsGeneration(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.set("", func(w http.ResponseWriter, r *http.Request) {
		streamEvents(w, `data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}`+"\n\n")
		f.hang(r)
	})
	llm := served(t, testConfig(f.url)) // 10s timeouts: only the cancel may end it
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	_, err := llm.Generate(ctx, sdk.GenerateRequest{Messages: []sdk.Message{user("hi")}}, func(string) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("want context.Canceled, got %v", err)
	}
	if elapsed := time.Since(start); elapsed > bound {
		t.Errorf("want the call stopped promptly, took %v", elapsed)
	}
}

// TestEmitErrorStops checks that an emit error ends Generate at once with
// that error, and that the request to the server is abandoned.
func TestEmitErrorStops(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	gone := make(chan struct{})
	f.set("", func(w http.ResponseWriter, r *http.Request) {
		streamEvents(w, `data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}`+"\n\n")
		f.hang(r)
		close(gone)
	})
	p, _ := direct(t, testConfig(f.url))
	errClosed := errors.New("the chat window was closed")
	calls := 0
	_, err := p.Generate(context.Background(), sdk.GenerateRequest{Messages: []sdk.Message{user("hi")}},
		func(string) error { calls++; return errClosed })
	if !errors.Is(err, errClosed) || calls != 1 {
		t.Errorf("want the emit error after one call, got %v after %d", err, calls)
	}
	select {
	case <-gone:
	case <-time.After(bound):
		t.Errorf("the request to the server was not abandoned")
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.key")
	tests := map[string]struct {
		config   any
		wantPath string
		wantText string
	}{
		"OpenAI with a key":    {config: json.RawMessage(`{"api_key":"sk-x"}`)},
		"local server, no key": {config: json.RawMessage(`{"base_url":"http://127.0.0.1:8080/v1","model":"qwen","timeout_seconds":0.5,"idle_timeout_seconds":0}`)},
		"OpenAI without a key": {config: json.RawMessage(`{}`), wantPath: "api_key", wantText: `api_key = env("OPENAI_API_KEY")`},
		"base_url not http":    {config: json.RawMessage(`{"base_url":"ws://127.0.0.1:8080/v1"}`), wantPath: "base_url", wantText: "http:// or https://"},
		"base_url without host": {
			config: json.RawMessage(`{"base_url":"https:///v1","api_key":"sk-x"}`), wantPath: "base_url", wantText: "must name a host",
		},
		"base_url with a password": {
			config: json.RawMessage(`{"base_url":"http://me:pw@127.0.0.1/v1"}`), wantPath: "base_url", wantText: "user name or password",
		},
		"key and key file": {
			config: json.RawMessage(`{"api_key":"sk-x","api_key_file":"/etc/k"}`), wantPath: "api_key_file", wantText: "not both",
		},
		"relative key file": {
			config: json.RawMessage(`{"api_key_file":"openai.key"}`), wantPath: "api_key_file", wantText: "absolute path",
		},
		"missing key file": {
			config: json.RawMessage(`{"api_key_file":"` + missing + `"}`), wantPath: "api_key_file", wantText: `"` + missing + `" cannot be read`,
		},
		"empty model":      {config: json.RawMessage(`{"api_key":"sk-x","model":""}`), wantPath: "model", wantText: "must name a model"},
		"negative timeout": {config: json.RawMessage(`{"api_key":"sk-x","timeout_seconds":-3}`), wantPath: "timeout_seconds", wantText: "between 0"},
		"negative idle timeout": {
			config: json.RawMessage(`{"api_key":"sk-x","idle_timeout_seconds":-1}`), wantPath: "idle_timeout_seconds", wantText: "between 0",
		},
		"unknown attribute": {config: json.RawMessage(`{"api_key":"sk-x","organization":"org-1"}`), wantPath: "organization", wantText: "unknown attribute"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := sdktest.New(t, &openai.Plugin{}).Configure(t, tc.config)
			if tc.wantPath == "" {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			ces := sdk.ConfigErrors(err)
			if len(ces) != 1 || strings.Join(ces[0].Path, ".") != tc.wantPath || !strings.Contains(ces[0].Summary, tc.wantText) {
				t.Errorf("want one error at %q containing %q, got %v", tc.wantPath, tc.wantText, err)
			}
		})
	}
}

// TestConfigSchemaHidesKey checks that dpc is told api_key is sensitive, so
// it keeps the value out of its own logs and output.
func TestConfigSchemaHidesKey(t *testing.T) {
	t.Parallel()
	sch, err := sdktest.New(t, &openai.Plugin{}).Client.ConfigSchema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, attr := range sch.GetAttributes() {
		if attr.GetName() == "api_key" {
			if !attr.GetSensitive() {
				t.Errorf("want api_key declared sensitive, got %v", attr)
			}
			return
		}
	}
	t.Errorf("the schema has no api_key attribute: %v", sch)
}

func TestNotConfigured(t *testing.T) {
	t.Parallel()
	p := &openai.Plugin{}
	_, gerr := p.Generate(context.Background(), sdk.GenerateRequest{}, func(string) error { return nil })
	_, lerr := p.ListModels(context.Background())
	if !errors.Is(gerr, sdk.ErrNotConfigured) || !errors.Is(lerr, sdk.ErrNotConfigured) {
		t.Errorf("want sdk.ErrNotConfigured, got %v and %v", gerr, lerr)
	}
}
