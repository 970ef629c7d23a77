package ollama_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/plugins/llm-ollama/ollama"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// short is the timeout of the timeout tests; bound is how long any failure
// may take to surface.
const (
	short = 0.2 // seconds
	bound = 3 * time.Second
)

// testConfig points the plugin at url, with timeouts generous enough for
// the race detector unless a test shortens them.
func testConfig(url string) *ollama.Config {
	cfg := ollama.DefaultConfig()
	cfg.Host, cfg.TimeoutSeconds, cfg.IdleTimeoutSeconds = url, 10, 10
	return cfg
}

// TestConformance runs the SDK's checks over real gRPC, with the LLM round
// trip against a fake Ollama.
func TestConformance(t *testing.T) {
	t.Parallel()
	sdktest.Conformance(t, func() sdk.Plugin { return &ollama.Plugin{} }, sdktest.Options{
		Config: func(t testing.TB) any { return testConfig(newFake(t).srv.URL) },
	})
}

// served configures a plugin served over gRPC, as dpc runs it.
func served(t *testing.T, cfg *ollama.Config) sdk.LLM {
	t.Helper()
	h := sdktest.New(t, &ollama.Plugin{})
	if err := h.Configure(t, cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return h.Client.LLM
}

// direct configures a plugin in-process with a logger writing to a buffer.
func direct(t *testing.T, cfg *ollama.Config) (*ollama.Plugin, *syncBuffer) {
	t.Helper()
	var logs syncBuffer
	p := &ollama.Plugin{}
	err := p.Configure(context.Background(), sdk.ConfigureRequest{
		Config: cfg, Logger: hclog.New(&hclog.LoggerOptions{Name: ollama.Name, Output: &logs, Level: hclog.Trace}),
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
		model      string
		wantDeltas []string
		wantResult sdk.GenerateResult
	}{
		"recorded answer": {
			file:       "chat_stream.ndjson",
			wantDeltas: []string{"Hello", "!", " How", " can I help", " you today?"},
			wantResult: sdk.GenerateResult{FinishReason: "stop", Model: "llama3", PromptTokens: 26, CompletionTokens: 8},
		},
		"cut by the token limit, model named in the request": {
			file: "chat_length.ndjson", model: "qwen2.5:0.5b",
			wantDeltas: []string{"Once upon", " a time"},
			wantResult: sdk.GenerateResult{FinishReason: "length", Model: "qwen2.5:0.5b", PromptTokens: 12, CompletionTokens: 4},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.set(tc.file, nil)
			var deltas []string
			res, err := served(t, testConfig(f.srv.URL)).Generate(context.Background(),
				sdk.GenerateRequest{Model: tc.model, Messages: []sdk.Message{user("Say hello.")}}, collect(&deltas))
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
	temp, topP, maxTokens := 0.25, 0.9, 64
	const prompt = "my secret diary entry"
	tests := map[string]struct {
		req  sdk.GenerateRequest
		want string
	}{
		"defaults": {
			req:  sdk.GenerateRequest{Messages: []sdk.Message{user(prompt)}},
			want: `{"model":"llama3","messages":[{"role":"user","content":"my secret diary entry"}],"stream":true}`,
		},
		"every option, model override, all roles": {
			req: sdk.GenerateRequest{
				Model: "qwen2.5:0.5b", Temperature: &temp, TopP: &topP, MaxTokens: &maxTokens, Stop: []string{"\n\n", "END"},
				Messages: []sdk.Message{
					{Role: sdk.RoleSystem, Content: "be brief"}, user(prompt),
					{Role: sdk.RoleAssistant, Content: "ok"}, user("more"),
				},
			},
			want: `{"model":"qwen2.5:0.5b","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"my secret diary entry"},` +
				`{"role":"assistant","content":"ok"},{"role":"user","content":"more"}],"stream":true,` +
				`"options":{"temperature":0.25,"top_p":0.9,"num_predict":64,"stop":["\n\n","END"]}}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			p, logs := direct(t, testConfig(f.srv.URL))
			var deltas []string
			if _, err := p.Generate(context.Background(), tc.req, collect(&deltas)); err != nil {
				t.Fatalf("Generate: %v", err)
			}
			var want map[string]any
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			if got := f.lastBody(t); !reflect.DeepEqual(got, want) {
				t.Errorf("request body:\nwant %v\ngot  %v", want, got)
			}
			// Prompts and answers are the user's private messages: the logs
			// carry sizes only, at any level.
			out := logs.String()
			if strings.Contains(out, prompt) || strings.Contains(out, "can I help") {
				t.Errorf("the logs contain message text:\n%s", out)
			}
			if !strings.Contains(out, "prompt_bytes=") || !strings.Contains(out, "completion_tokens=8") {
				t.Errorf("want debug lines with sizes and usage, got:\n%s", out)
			}
		})
	}
}

func TestListModels(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	models, err := served(t, testConfig(f.srv.URL)).ListModels(context.Background())
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
}

// TestFailures checks each failure over gRPC, as the host sees it: the sdk
// sentinel survives, the message says what happened, and it comes quickly.
func TestFailures(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		host       func(t *testing.T, f *fakeOllama) string
		file       string
		chat       func(f *fakeOllama) http.HandlerFunc
		model      string
		short      bool // use the short timeouts
		wantDeltas []string
		wantErr    error
		wantTexts  []string
	}{
		"server down": {
			host:    func(t *testing.T, _ *fakeOllama) string { return closedPort(t) },
			wantErr: sdk.ErrUnavailable, wantTexts: []string{"llm-ollama: server at http://127.0.0.1:", "is not reachable (is it running?)"},
		},
		"accepts and never answers": {
			host:    func(t *testing.T, _ *fakeOllama) string { return silentServer(t) },
			short:   true,
			wantErr: sdk.ErrUnavailable, wantTexts: []string{"llm-ollama: no answer from http://127.0.0.1:", "within 200ms"},
		},
		"stops mid-stream": {
			chat: func(f *fakeOllama) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					streamLines(w, `{"model":"llama3","message":{"role":"assistant","content":"Hel"},"done":false}`+"\n")
					f.hang(r)
				}
			},
			short:      true,
			wantDeltas: []string{"Hel"},
			wantErr:    sdk.ErrUnavailable, wantTexts: []string{"stopped sending in the middle of the answer (nothing for 200ms)"},
		},
		"error line mid-stream": {
			file: "chat_error.ndjson", wantDeltas: []string{"Hel"},
			wantErr: sdk.ErrUnavailable, wantTexts: []string{"failed in the middle of the answer: an error was encountered while running the model: unexpected EOF"},
		},
		"stream ends before done": {
			file: "chat_truncated.ndjson", wantDeltas: []string{"Hello", "!"},
			wantErr: sdk.ErrUnavailable, wantTexts: []string{"ended the stream before the answer was complete"},
		},
		"not JSON mid-stream": {
			file: "chat_garbage.ndjson", wantDeltas: []string{"Hello"},
			wantTexts: []string{"a line of the answer from", "is not the JSON expected"},
		},
		"model not pulled": {
			chat: func(*fakeOllama) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json; charset=utf-8")
					w.WriteHeader(http.StatusNotFound)
					_, _ = w.Write([]byte(`{"error":"model \"mistral\" not found, try pulling it first"}`))
				}
			},
			model:   "mistral",
			wantErr: sdk.ErrNotFound, wantTexts: []string{`has no model "mistral"`, "try pulling it first"},
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
			cfg := testConfig(f.srv.URL)
			if tc.host != nil {
				cfg.Host = tc.host(t, f)
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
		"error line":  {file: "chat_error.ndjson", want: llmhttp.ErrServer},
		"truncated":   {file: "chat_truncated.ndjson", want: llmhttp.ErrDisconnected},
		"garbage":     {file: "chat_garbage.ndjson", want: llmhttp.ErrProtocol},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.set(tc.file, nil)
			cfg := testConfig(f.srv.URL)
			if tc.down {
				cfg.Host = closedPort(t)
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
		streamLines(w, `{"model":"llama3","message":{"role":"assistant","content":"Hel"},"done":false}`+"\n")
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
// that error, and that the request to Ollama is abandoned.
func TestEmitErrorStops(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	gone := make(chan struct{})
	f.set("", func(w http.ResponseWriter, r *http.Request) {
		streamLines(w, `{"model":"llama3","message":{"role":"assistant","content":"Hel"},"done":false}`+"\n")
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
	tests := map[string]struct {
		config   any
		wantPath string
		wantText string
	}{
		"defaults":              {config: json.RawMessage(`{}`)},
		"everything set":        {config: json.RawMessage(`{"host":"http://10.0.0.2:11434","model":"qwen2.5:7b","timeout_seconds":300,"idle_timeout_seconds":0.5}`)},
		"host without scheme":   {config: json.RawMessage(`{"host":"127.0.0.1:11434"}`), wantPath: "host", wantText: "http:// or https://"},
		"host without host":     {config: json.RawMessage(`{"host":"http://"}`), wantPath: "host", wantText: "must name a host"},
		"empty model":           {config: json.RawMessage(`{"model":" "}`), wantPath: "model", wantText: "must name a model"},
		"negative timeout":      {config: json.RawMessage(`{"timeout_seconds":-1}`), wantPath: "timeout_seconds", wantText: "between 0"},
		"negative idle timeout": {config: json.RawMessage(`{"idle_timeout_seconds":-0.5}`), wantPath: "idle_timeout_seconds", wantText: "between 0"},
		"timeout as a string":   {config: json.RawMessage(`{"timeout_seconds":"30s"}`), wantPath: "timeout_seconds", wantText: "want a number"},
		"unknown attribute":     {config: json.RawMessage(`{"api_key":"x"}`), wantPath: "api_key", wantText: "unknown attribute"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := sdktest.New(t, &ollama.Plugin{}).Configure(t, tc.config)
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
	p := &ollama.Plugin{}
	_, gerr := p.Generate(context.Background(), sdk.GenerateRequest{}, func(string) error { return nil })
	_, lerr := p.ListModels(context.Background())
	if !errors.Is(gerr, sdk.ErrNotConfigured) || !errors.Is(lerr, sdk.ErrNotConfigured) {
		t.Errorf("want sdk.ErrNotConfigured, got %v and %v", gerr, lerr)
	}
}
