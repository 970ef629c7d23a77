package echo_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/examples/llm-echo/echo"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// TestConformance runs the checks every plugin should pass, over real gRPC.
func TestConformance(t *testing.T) {
	t.Parallel()
	sdktest.Conformance(t, func() sdk.Plugin { return &echo.Plugin{} }, sdktest.Options{})
}

// configured serves a plugin in-process and configures it the way dpc does;
// cfg is a *echo.Config, raw JSON, or nil for the defaults.
func configured(t *testing.T, cfg any) sdk.LLM {
	t.Helper()
	h := sdktest.New(t, &echo.Plugin{})
	if cfg == nil {
		cfg = echo.DefaultConfig()
	}
	if err := h.Configure(t, cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return h.Client.LLM
}

func user(s string) sdk.Message { return sdk.Message{Role: sdk.RoleUser, Content: s} }

func TestStreamedOutput(t *testing.T) {
	t.Parallel()
	three := 3
	tests := map[string]struct {
		config     any
		messages   []sdk.Message
		maxTokens  *int
		wantDeltas []string
		wantFinish string
		wantUsage  [2]int // prompt, completion
	}{
		"default prefix": {
			messages:   []sdk.Message{user("hello big world")},
			wantDeltas: []string{"echo: hello", " big", " world"},
			wantFinish: "stop", wantUsage: [2]int{3, 4},
		},
		"last user message, whitespace collapsed": {
			messages: []sdk.Message{
				{Role: sdk.RoleSystem, Content: "you are an echo"},
				user("first"),
				{Role: sdk.RoleAssistant, Content: "echo: first"},
				user("  second\tand\n third "),
			},
			wantDeltas: []string{"echo: second", " and", " third"},
			wantFinish: "stop", wantUsage: [2]int{10, 4},
		},
		"custom prefix from HCL-style JSON": {
			config:     json.RawMessage(`{"prefix": "> "}`),
			messages:   []sdk.Message{user("hi there")},
			wantDeltas: []string{"> hi", " there"},
			wantFinish: "stop", wantUsage: [2]int{2, 3},
		},
		"empty prefix": {
			config:     &echo.Config{Prefix: ""},
			messages:   []sdk.Message{user("just this")},
			wantDeltas: []string{"just", " this"},
			wantFinish: "stop", wantUsage: [2]int{2, 2},
		},
		"no user message: only the prefix": {
			messages:   []sdk.Message{{Role: sdk.RoleSystem, Content: "sys"}},
			wantDeltas: []string{"echo: "},
			wantFinish: "stop", wantUsage: [2]int{1, 1},
		},
		"nothing at all": {
			config:     &echo.Config{},
			messages:   nil,
			wantDeltas: nil,
			wantFinish: "stop", wantUsage: [2]int{0, 0},
		},
		"max tokens cuts the answer": {
			messages:   []sdk.Message{user("one two three four five")},
			maxTokens:  &three,
			wantDeltas: []string{"echo: one", " two", " three"},
			wantFinish: "length", wantUsage: [2]int{5, 4},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			llm := configured(t, tc.config)
			var deltas []string
			res, err := llm.Generate(context.Background(),
				sdk.GenerateRequest{Model: echo.ModelID, Messages: tc.messages, MaxTokens: tc.maxTokens},
				func(d string) error { deltas = append(deltas, d); return nil })
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			if !slices.Equal(deltas, tc.wantDeltas) {
				t.Errorf("deltas: want %q, got %q", tc.wantDeltas, deltas)
			}
			if res.FinishReason != tc.wantFinish || res.Model != echo.ModelID ||
				res.PromptTokens != tc.wantUsage[0] || res.CompletionTokens != tc.wantUsage[1] {
				t.Errorf("result: want finish %q, model %q, usage %v, got %+v", tc.wantFinish, echo.ModelID, tc.wantUsage, res)
			}
		})
	}
}

// TestDelayBetweenWords checks that the plugin waits between words: 3
// words take at least 2 delays. (Gaps between arrivals prove nothing: on a
// loaded machine, words sent 30ms apart may arrive together; that words
// arrive as they are produced is TestCancelStopsGeneration's.)
func TestDelayBetweenWords(t *testing.T) {
	t.Parallel()
	llm := configured(t, &echo.Config{Prefix: "", DelayMS: 30})
	var words int
	start := time.Now()
	_, err := llm.Generate(context.Background(), sdk.GenerateRequest{Messages: []sdk.Message{user("a b c")}},
		func(string) error { words++; return nil })
	if err != nil {
		t.Fatalf("want no error, got %v", err)
	}
	if words != 3 {
		t.Fatalf("want 3 deltas, got %d", words)
	}
	if took := time.Since(start); took < 60*time.Millisecond {
		t.Errorf("want 3 words to take at least 2 delays of 30ms, took %v", took)
	}
}

// TestCancelStopsGeneration checks that the first word arrives while the
// plugin waits to produce the second, and that cancelling cuts that wait
// short.
func TestCancelStopsGeneration(t *testing.T) {
	t.Parallel()
	llm := configured(t, &echo.Config{DelayMS: echo.MaxDelayMS})
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	_, err := llm.Generate(ctx, sdk.GenerateRequest{Messages: []sdk.Message{user("first second")}},
		func(string) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("want context.Canceled, got %v", err)
	}
	if elapsed := time.Since(start); elapsed >= echo.MaxDelayMS*time.Millisecond {
		t.Errorf("want the %dms delay cut short, got %v", echo.MaxDelayMS, elapsed)
	}
}

func TestGenerateErrors(t *testing.T) {
	t.Parallel()
	errClosed := errors.New("the window was closed")
	tests := map[string]struct {
		model string
		emit  func(string) error
		want  error
	}{
		"unknown model": {model: "gpt-5", want: sdk.ErrNotFound},
		"emit fails":    {emit: func(string) error { return errClosed }, want: errClosed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			emit := tc.emit
			if emit == nil {
				emit = func(string) error { return nil }
			}
			_, err := configured(t, nil).Generate(context.Background(),
				sdk.GenerateRequest{Model: tc.model, Messages: []sdk.Message{user("x y")}}, emit)
			if !errors.Is(err, tc.want) {
				t.Errorf("want errors.Is(err, %v), got %v", tc.want, err)
			}
		})
	}
}

func TestListModels(t *testing.T) {
	t.Parallel()
	models, err := configured(t, nil).ListModels(context.Background())
	if err != nil {
		t.Fatalf("want no error, got %v", err)
	}
	if len(models) != 1 || models[0].ID != echo.ModelID {
		t.Errorf("want one model %q, got %+v", echo.ModelID, models)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		config   any
		wantPath string
		wantText string
	}{
		"defaults":            {config: json.RawMessage(`{}`)},
		"both set":            {config: json.RawMessage(`{"prefix": "> ", "delay_ms": 50}`)},
		"negative delay":      {config: &echo.Config{DelayMS: -1}, wantPath: "delay_ms", wantText: "between 0 and"},
		"absurd delay":        {config: json.RawMessage(`{"delay_ms": 3600000}`), wantPath: "delay_ms", wantText: "between 0 and"},
		"delay as a string":   {config: json.RawMessage(`{"delay_ms": "50ms"}`), wantPath: "delay_ms", wantText: "want a whole number"},
		"prefix not a string": {config: json.RawMessage(`{"prefix": 1}`), wantPath: "prefix", wantText: "want a string"},
		"unknown attribute":   {config: json.RawMessage(`{"model": "echo"}`), wantPath: "model", wantText: "unknown attribute"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := sdktest.New(t, &echo.Plugin{}).Configure(t, tc.config)
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
	_, err := (&echo.Plugin{}).Generate(context.Background(), sdk.GenerateRequest{}, func(string) error { return nil })
	if !errors.Is(err, sdk.ErrNotConfigured) {
		t.Errorf("want sdk.ErrNotConfigured, got %v", err)
	}
}
