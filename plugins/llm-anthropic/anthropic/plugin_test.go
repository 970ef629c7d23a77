package anthropic_test

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

	"github.com/dpc-go/dpc/plugins/llm-anthropic/anthropic"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// secret is the test API key; no log or error may contain it.
const secret = "sk-ant-api03-test-9b1f0c2d3e4a5b6c7d8e-AAAA"

// short is the timeout of the timeout tests; bound is how long any failure
// may take to surface.
const (
	short = 0.2 // seconds
	bound = 3 * time.Second
)

// testConfig points the plugin at url with the test key, with timeouts
// generous enough for the race detector unless a test shortens them.
func testConfig(url string) *anthropic.Config {
	cfg := anthropic.DefaultConfig()
	cfg.BaseURL, cfg.APIKey, cfg.TimeoutSeconds, cfg.IdleTimeoutSeconds = url, secret, 10, 10
	return cfg
}

// TestConformance runs the SDK's checks over real gRPC, with the LLM round
// trip against a fake Anthropic API that insists on the key and version.
func TestConformance(t *testing.T) {
	t.Parallel()
	sdktest.Conformance(t, func() sdk.Plugin { return &anthropic.Plugin{} }, sdktest.Options{
		Config: func(t testing.TB) any { return testConfig(newFake(t, secret).srv.URL) },
	})
}

// served configures a plugin served over gRPC, as dpc runs it.
func served(t *testing.T, cfg *anthropic.Config) sdk.LLM {
	t.Helper()
	h := sdktest.New(t, &anthropic.Plugin{})
	if err := h.Configure(t, cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return h.Client.LLM
}

// direct configures a plugin in-process with a logger writing to a buffer.
func direct(t *testing.T, cfg *anthropic.Config) (*anthropic.Plugin, *syncBuffer) {
	t.Helper()
	var logs syncBuffer
	p := &anthropic.Plugin{}
	err := p.Configure(context.Background(), sdk.ConfigureRequest{
		Config: cfg, Logger: hclog.New(&hclog.LoggerOptions{Name: anthropic.Name, Output: &logs, Level: hclog.Trace}),
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
		"recorded answer with a ping": {
			file:       "messages_stream.sse",
			wantDeltas: []string{"Hello", "! How can I", " help you today?"},
			wantResult: sdk.GenerateResult{FinishReason: "stop", Model: "claude-sonnet-4-5-20250929", PromptTokens: 21, CompletionTokens: 12},
		},
		"thinking not passed on, cache tokens counted, cut by max_tokens": {
			file:       "messages_max_tokens.sse",
			wantDeltas: []string{"Once upon", " a time"},
			wantResult: sdk.GenerateResult{FinishReason: "length", Model: "claude-3-5-haiku-20241022", PromptTokens: 1508, CompletionTokens: 4},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, secret)
			f.set(tc.file, nil)
			var deltas []string
			res, err := served(t, testConfig(f.srv.URL)).Generate(context.Background(),
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
	keyFile := filepath.Join(t.TempDir(), "anthropic.key")
	if err := os.WriteFile(keyFile, []byte("\n"+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	temp, topP, maxTokens := 0.7, 0.95, 256
	const prompt = "my secret diary entry"
	tests := map[string]struct {
		key, keyFile string
		req          sdk.GenerateRequest
		want         string
	}{
		"key from api_key, defaults": {
			key: secret,
			req: sdk.GenerateRequest{Messages: []sdk.Message{user(prompt)}},
			want: `{"model":"claude-sonnet-4-5","max_tokens":1024,` +
				`"messages":[{"role":"user","content":"my secret diary entry"}],"stream":true}`,
		},
		"key from api_key_file, system messages joined, every option": {
			keyFile: keyFile,
			req: sdk.GenerateRequest{
				Model: "claude-opus-4-1", Temperature: &temp, TopP: &topP, MaxTokens: &maxTokens, Stop: []string{"\n\nHuman:"},
				Messages: []sdk.Message{
					{Role: sdk.RoleSystem, Content: "You are brief."},
					user(prompt),
					{Role: sdk.RoleAssistant, Content: "Noted."},
					{Role: sdk.RoleSystem, Content: "Context: the user is Ana."},
					{Role: sdk.RoleUser, Content: "  "},
					user("more"),
				},
			},
			want: `{"model":"claude-opus-4-1","max_tokens":256,"system":"You are brief.\n\nContext: the user is Ana.",` +
				`"messages":[{"role":"user","content":"my secret diary entry"},{"role":"assistant","content":"Noted."},` +
				`{"role":"user","content":"more"}],"stream":true,"temperature":0.7,"top_p":0.95,"stop_sequences":["\n\nHuman:"]}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, secret)
			cfg := testConfig(f.srv.URL)
			cfg.APIKey, cfg.APIKeyFile = tc.key, tc.keyFile
			p, logs := direct(t, cfg)
			var deltas []string
			if _, err := p.Generate(context.Background(), tc.req, collect(&deltas)); err != nil {
				t.Fatalf("Generate: %v", err)
			}
			r := f.last(t)
			if r.method != http.MethodPost || r.path != "/v1/messages" {
				t.Errorf("want POST /v1/messages, got %s %s", r.method, r.path)
			}
			for h, want := range map[string]string{
				"X-Api-Key": secret, "Anthropic-Version": "2023-06-01", "Content-Type": "application/json", "Authorization": "",
			} {
				if got := r.header.Get(h); got != want {
					t.Errorf("header %s: want %q, got %q", h, want, got)
				}
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
			if !strings.Contains(out, "prompt_bytes=") || !strings.Contains(out, "completion_tokens=12") {
				t.Errorf("want debug lines with sizes and usage, got:\n%s", out)
			}
		})
	}
}

func TestNoMessages(t *testing.T) {
	t.Parallel()
	f := newFake(t, secret)
	_, err := served(t, testConfig(f.srv.URL)).Generate(context.Background(),
		sdk.GenerateRequest{Messages: []sdk.Message{{Role: sdk.RoleSystem, Content: "only a system prompt"}}}, func(string) error { return nil })
	if !errors.Is(err, sdk.ErrInvalidArgument) || !strings.Contains(err.Error(), "at least one user or assistant message") {
		t.Errorf("want sdk.ErrInvalidArgument naming the problem, got %v", err)
	}
}

func TestListModels(t *testing.T) {
	t.Parallel()
	f := newFake(t, secret)
	models, err := served(t, testConfig(f.srv.URL)).ListModels(context.Background())
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
	if r := f.last(t); r.path != "/v1/models" || r.query != "limit=1000&after_id=claude-opus-4-1-20250805" {
		t.Errorf("want the second page asked for after the first's last_id, got %s?%s", r.path, r.query)
	}
}

// TestWrongKey checks what the user reads when the API refuses the key,
// over gRPC as dpc sees it, and that the key appears nowhere.
func TestWrongKey(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "anthropic.key")
	if err := os.WriteFile(keyFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		key, keyFile string
		wantText     string
	}{
		"api_key":      {key: secret, wantText: "rejected the API key from api_key (401 Unauthorized): invalid x-api-key"},
		"api_key_file": {keyFile: keyFile, wantText: `rejected the API key from api_key_file "` + keyFile + `" (401 Unauthorized): invalid x-api-key`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, "sk-ant-the-right-one")
			cfg := testConfig(f.srv.URL)
			cfg.APIKey, cfg.APIKeyFile = tc.key, tc.keyFile
			llm := served(t, cfg)
			_, gerr := llm.Generate(context.Background(), sdk.GenerateRequest{Messages: []sdk.Message{user("hi")}}, func(string) error { return nil })
			_, lerr := llm.ListModels(context.Background())
			for _, err := range []error{gerr, lerr} {
				if !errors.Is(err, sdk.ErrPermissionDenied) || !strings.Contains(err.Error(), "llm-anthropic: server at http://127.0.0.1:") ||
					!strings.Contains(err.Error(), tc.wantText) {
					t.Errorf("want sdk.ErrPermissionDenied saying %q, got %v", tc.wantText, err)
				}
				if err != nil && strings.Contains(err.Error(), secret) {
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
		chat       func(f *fakeAnthropic) http.HandlerFunc
		model      string
		short      bool // use the short timeouts
		wantDeltas []string
		wantErr    error
		wantTexts  []string
	}{
		"server down": {
			url:     func(t *testing.T) string { return closedPort(t) },
			wantErr: sdk.ErrUnavailable, wantTexts: []string{"llm-anthropic: server at http://127.0.0.1:", "is not reachable (is it running?)"},
		},
		"accepts and never answers": {
			url:     func(t *testing.T) string { return silentServer(t) },
			short:   true,
			wantErr: sdk.ErrUnavailable, wantTexts: []string{"llm-anthropic: no answer from http://127.0.0.1:", "within 200ms"},
		},
		"stops mid-stream": {
			chat: func(f *fakeAnthropic) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					streamEvents(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n")
					f.hang(r)
				}
			},
			short:      true,
			wantDeltas: []string{"Hel"},
			wantErr:    sdk.ErrUnavailable, wantTexts: []string{"stopped sending in the middle of the answer (nothing for 200ms)"},
		},
		"overloaded error event mid-stream": {
			file: "messages_overloaded.sse", wantDeltas: []string{"Hel"},
			wantErr:   sdk.ErrUnavailable,
			wantTexts: []string{"the Anthropic API at http://127.0.0.1:", "reported an error in the middle of the answer: Overloaded (overloaded_error)"},
		},
		"stream ends before message_stop": {
			file: "messages_truncated.sse", wantDeltas: []string{"Hello"},
			wantErr: sdk.ErrUnavailable, wantTexts: []string{"ended the stream before the answer was complete"},
		},
		"no such model": {
			chat: func(f *fakeAnthropic) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusNotFound)
					_, _ = w.Write(readTestdata(f.t, "error_404_model.json"))
				}
			},
			model:   "claude-9",
			wantErr: sdk.ErrNotFound, wantTexts: []string{`has no model "claude-9" (404 Not Found): model: claude-9`},
		},
		"overloaded before the stream": {
			chat: func(*fakeAnthropic) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(529)
					_, _ = w.Write([]byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}`))
				}
			},
			wantErr: sdk.ErrUnavailable, wantTexts: []string{"failed (529): Overloaded"},
		},
		"rejected request": {
			chat: func(*fakeAnthropic) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write([]byte(`{"type":"error","error":{"type":"invalid_request_error","message":"temperature and top_p cannot both be specified for this model."}}`))
				}
			},
			wantErr: sdk.ErrInvalidArgument, wantTexts: []string{"rejected the request (400 Bad Request): temperature and top_p cannot both be specified"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, secret)
			if tc.file != "" || tc.chat != nil {
				var chat http.HandlerFunc
				if tc.chat != nil {
					chat = tc.chat(f)
				}
				f.set(tc.file, chat)
			}
			cfg := testConfig(f.srv.URL)
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
			if !errors.Is(err, tc.wantErr) {
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
		"server down": {down: true, want: llmhttp.ErrUnreachable},
		"overloaded":  {file: "messages_overloaded.sse", want: llmhttp.ErrServer},
		"truncated":   {file: "messages_truncated.sse", want: llmhttp.ErrDisconnected},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, secret)
			f.set(tc.file, nil)
			cfg := testConfig(f.srv.URL)
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
	f := newFake(t, secret)
	f.set("", func(w http.ResponseWriter, r *http.Request) {
		streamEvents(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n")
		f.hang(r)
	})
	llm := served(t, testConfig(f.srv.URL)) // 10s timeouts: only the cancel may end it
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
// that error, and that the request to the API is abandoned.
func TestEmitErrorStops(t *testing.T) {
	t.Parallel()
	f := newFake(t, secret)
	gone := make(chan struct{})
	f.set("", func(w http.ResponseWriter, r *http.Request) {
		streamEvents(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n")
		f.hang(r)
		close(gone)
	})
	p, _ := direct(t, testConfig(f.srv.URL))
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
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.key")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		config   any
		wantPath string
		wantText string
	}{
		"key only":     {config: json.RawMessage(`{"api_key":"sk-ant-x"}`)},
		"everything":   {config: json.RawMessage(`{"base_url":"https://proxy.example/anthropic","model":"claude-opus-4-1","api_key":"sk-ant-x","max_tokens":4096,"timeout_seconds":30,"idle_timeout_seconds":0.5}`)},
		"no key":       {config: json.RawMessage(`{}`), wantPath: "api_key", wantText: `set api_key = env("ANTHROPIC_API_KEY") (the variable must be set where dpc runs) or api_key_file`},
		"empty key":    {config: json.RawMessage(`{"api_key":""}`), wantPath: "api_key", wantText: "an API key is required"},
		"key and file": {config: json.RawMessage(`{"api_key":"sk-ant-x","api_key_file":"/k"}`), wantPath: "api_key_file", wantText: "not both"},
		"empty key file": {
			config: json.RawMessage(`{"api_key_file":"` + empty + `"}`), wantPath: "api_key_file", wantText: `the API key file "` + empty + `" is empty`,
		},
		"base_url not http": {config: json.RawMessage(`{"api_key":"sk-ant-x","base_url":"api.anthropic.com"}`), wantPath: "base_url", wantText: "http:// or https://"},
		"zero max_tokens":   {config: json.RawMessage(`{"api_key":"sk-ant-x","max_tokens":0}`), wantPath: "max_tokens", wantText: "at least 1"},
		"negative timeout":  {config: json.RawMessage(`{"api_key":"sk-ant-x","timeout_seconds":-1}`), wantPath: "timeout_seconds", wantText: "between 0"},
		"negative idle timeout": {
			config: json.RawMessage(`{"api_key":"sk-ant-x","idle_timeout_seconds":-1}`), wantPath: "idle_timeout_seconds", wantText: "between 0",
		},
		"empty model":       {config: json.RawMessage(`{"api_key":"sk-ant-x","model":""}`), wantPath: "model", wantText: "must name a model"},
		"unknown attribute": {config: json.RawMessage(`{"api_key":"sk-ant-x","version":"2023-06-01"}`), wantPath: "version", wantText: "unknown attribute"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := sdktest.New(t, &anthropic.Plugin{}).Configure(t, tc.config)
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

func TestNotConfigured(t *testing.T) {
	t.Parallel()
	p := &anthropic.Plugin{}
	_, gerr := p.Generate(context.Background(), sdk.GenerateRequest{}, func(string) error { return nil })
	_, lerr := p.ListModels(context.Background())
	if !errors.Is(gerr, sdk.ErrNotConfigured) || !errors.Is(lerr, sdk.ErrNotConfigured) {
		t.Errorf("want sdk.ErrNotConfigured, got %v and %v", gerr, lerr)
	}
}
