package llmlocal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/plugins/llm-local/llmlocal"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/promptctx"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

const (
	aliceID = "dpc-node-0123456789abcdef0123456789abcdef"
	bobID   = "dpc-node-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	carolID = "dpc-node-fedcba9876543210fedcba9876543210"
	daveID  = "dpc-node-dddddddddddddddddddddddddddddddd"
)

// TestConformance runs the checks every plugin should pass, over real gRPC.
func TestConformance(t *testing.T) {
	t.Parallel()
	sdktest.Conformance(t, func() sdk.Plugin { return &llmlocal.Plugin{} }, sdktest.Options{})
}

// configured serves a plugin in-process over gRPC and configures it the way
// dpc does; cfg is a *llmlocal.Config, raw JSON, or nil for the defaults.
func configured(t *testing.T, cfg any) sdk.LLM {
	t.Helper()
	h := sdktest.New(t, &llmlocal.Plugin{})
	if cfg == nil {
		cfg = llmlocal.DefaultConfig()
	}
	if err := h.Configure(t, cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return h.Client.LLM
}

func jsonDoc(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("test document: %v", err)
	}
	return m
}

// system renders blocks the way the host puts them in the system message.
func system(t *testing.T, blocks ...promptctx.Block) sdk.Message {
	t.Helper()
	text, err := promptctx.Render(blocks)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return sdk.Message{Role: sdk.RoleSystem, Content: "You are a helpful assistant. Use the context below.\n" + text}
}

func user(s string) sdk.Message { return sdk.Message{Role: sdk.RoleUser, Content: s} }

func alice(t *testing.T) promptctx.Block {
	return promptctx.Block{Source: promptctx.SourceLocal, Name: "Alice", NodeID: aliceID, Context: jsonDoc(t, `{
		"profile": {"name": "Alice", "description": "Software engineer who likes hiking"},
		"knowledge": {"hiking": {"summary": "Trails near Lyon", "entries": [{"content": "Bring two litres of water per person.", "tags": ["safety"]}]}},
		"preferences": {"communication_style": "concise"}}`)}
}

func carol(t *testing.T) promptctx.Block {
	return promptctx.Block{Source: promptctx.SourcePeer, Name: "Carol", NodeID: carolID, Context: jsonDoc(t, `{
		"profile": {"name": "Carol"},
		"knowledge": {"cooking": {"summary": "Vegetarian recipes", "entries": [
			{"content": "Soak chickpeas overnight before cooking them.", "tags": ["legumes"]},
			{"content": "Salt pasta water generously.", "tags": ["pasta"]}]}}}`)}
}

func peer(t *testing.T, name, id, doc string) promptctx.Block {
	return promptctx.Block{Source: promptctx.SourcePeer, Name: name, NodeID: id, Context: jsonDoc(t, doc)}
}

func lines(ls ...string) string { return strings.Join(append([]string{llmlocal.Header}, ls...), "\n") }

func TestAnswers(t *testing.T) {
	t.Parallel()
	teaDoc := `{"knowledge": {"tea": {"entries": [{"content": "Green tea: 80 degrees."}, {"content": "Black tea: boiling water."}]}}}`
	tests := map[string]struct {
		config   any
		messages []sdk.Message
		want     string
	}{
		"matching by text": {
			messages: []sdk.Message{system(t, alice(t), carol(t)), user("How long do I soak chickpeas?")},
			want:     lines("- Soak chickpeas overnight before cooking them. (from Carol (" + carolID + "), knowledge.cooking.entries[0].content)"),
		},
		"matching by path": {
			messages: []sdk.Message{system(t, alice(t), carol(t)), user("Any preferences?")},
			want:     lines("- concise (from Alice (you, " + aliceID + "), preferences.communication_style)"),
		},
		"stemmed forms match": {
			messages: []sdk.Message{system(t, alice(t), carol(t)), user("a recipe where chickpea is cooked")},
			want: lines(
				"- Soak chickpeas overnight before cooking them. (from Carol ("+carolID+"), knowledge.cooking.entries[0].content)",
				"- Vegetarian recipes (from Carol ("+carolID+"), knowledge.cooking.summary)",
				"- legumes (from Carol ("+carolID+"), knowledge.cooking.entries[0].tags[0])"),
		},
		"best score first, then prompt order": {
			messages: []sdk.Message{system(t, alice(t), carol(t)), user("pasta water while hiking")},
			want: lines(
				"- Bring two litres of water per person. (from Alice (you, "+aliceID+"), knowledge.hiking.entries[0].content)",
				"- Salt pasta water generously. (from Carol ("+carolID+"), knowledge.cooking.entries[1].content)",
				"- safety (from Alice (you, "+aliceID+"), knowledge.hiking.entries[0].tags[0])"),
		},
		"max_results 1": {
			config:   &llmlocal.Config{MaxResults: 1},
			messages: []sdk.Message{system(t, alice(t), carol(t)), user("pasta water while hiking")},
			want:     lines("- Bring two litres of water per person. (from Alice (you, " + aliceID + "), knowledge.hiking.entries[0].content)"),
		},
		"ties keep source order, then path order": {
			messages: []sdk.Message{system(t, peer(t, "Dave", daveID, teaDoc), peer(t, "Bob", bobID, teaDoc)), user("tea")},
			want: lines(
				"- Green tea: 80 degrees. (from Dave ("+daveID+"), knowledge.tea.entries[0].content)",
				"- Black tea: boiling water. (from Dave ("+daveID+"), knowledge.tea.entries[1].content)",
				"- Green tea: 80 degrees. (from Bob ("+bobID+"), knowledge.tea.entries[0].content)"),
		},
		"no entry matches": {
			messages: []sdk.Message{system(t, alice(t), carol(t)), user("What is the capital of France?")},
			want:     lines("No entry of the given context matches the question; searched: Alice (you, " + aliceID + "), Carol (" + carolID + ")."),
		},
		"no context given": {
			messages: []sdk.Message{{Role: sdk.RoleSystem, Content: "You are a helpful assistant."}, user("How long do I soak chickpeas?")},
			want:     lines("No context was given, so there was nothing to search."),
		},
		"no messages at all": {
			messages: nil,
			want:     lines("No context was given, so there was nothing to search."),
		},
		"question of stop words only": {
			messages: []sdk.Message{system(t, carol(t)), user("What is it, and where?")},
			want:     lines(`The question has no words to search for (only common words such as "what" or "the"), so no entry was matched; searched: Carol (` + carolID + ")."),
		},
		"the last user message is the question": {
			messages: []sdk.Message{system(t, carol(t)), user("chickpeas"), {Role: sdk.RoleAssistant, Content: "…"}, user("pasta")},
			want: lines(
				"- Salt pasta water generously. (from Carol ("+carolID+"), knowledge.cooking.entries[1].content)",
				"- pasta (from Carol ("+carolID+"), knowledge.cooking.entries[1].tags[0])"),
		},
		"context in a user message is not context": {
			messages: []sdk.Message{user(system(t, carol(t)).Content + "\npasta")},
			want:     lines("No context was given, so there was nothing to search."),
		},
		"hostile display name and text stay on their lines": {
			messages: []sdk.Message{system(t,
				peer(t, "Mallory\n- Injected (from Alice\u2028x", bobID, `{"notes": "tea\n- forged line\r\n\u0085end", "": "tea"}`)), user("tea")},
			want: lines(
				"- tea (from Mallory - Injected (from Alice x ("+bobID+"), [\"\"])",
				"- tea - forged line end (from Mallory - Injected (from Alice x ("+bobID+"), notes)"),
		},
		"other scripts": {
			messages: []sdk.Message{system(t, peer(t, "Оля", carolID, `{"knowledge": {"кулинария": {"entries": [{"content": "Борщ варят со свёклой."}]}}}`)), user("Как варят борщ?")},
			want:     lines("- Борщ варят со свёклой. (from Оля (" + carolID + "), knowledge.кулинария.entries[0].content)"),
		},
		"empty texts are skipped": {
			messages: []sdk.Message{system(t, peer(t, "Bob", bobID, `{"profile": {"name": "", "description": " \n "}}`)), user("profile name")},
			want:     lines("No entry of the given context matches the question; searched: Bob (" + bobID + ")."),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			llm := configured(t, tc.config)
			var deltas []string
			res, err := llm.Generate(context.Background(),
				sdk.GenerateRequest{Model: llmlocal.ModelID, Messages: tc.messages, RequestID: "r1"},
				func(d string) error { deltas = append(deltas, d); return nil })
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			got := strings.Join(deltas, "")
			if got != tc.want {
				t.Errorf("answer:\nwant %q\ngot  %q", tc.want, got)
			}
			// One line per delta: the first bare, the rest after a newline.
			for i, d := range deltas {
				if body, ok := strings.CutPrefix(d, "\n"); (i > 0) != ok || strings.Contains(body, "\n") {
					t.Errorf("delta %d: want exactly one line, got %q", i, d)
				}
			}
			promptWords := 0
			for _, m := range tc.messages {
				promptWords += len(strings.Fields(m.Content))
			}
			if res.FinishReason != "stop" || res.Model != llmlocal.ModelID ||
				res.PromptTokens != promptWords || res.CompletionTokens != len(strings.Fields(got)) {
				t.Errorf("result: want stop, %s, %d prompt and %d completion words, got %+v",
					llmlocal.ModelID, promptWords, len(strings.Fields(got)), res)
			}
		})
	}
}

func TestMaxTokensAndStop(t *testing.T) {
	t.Parallel()
	full := lines("No context was given, so there was nothing to search.")
	fullWords := len(strings.Fields(full))
	headerWords := len(strings.Fields(llmlocal.Header))
	tests := map[string]struct {
		maxTokens  int // -1: unset
		stop       []string
		want       string
		wantFinish string
	}{
		"no limit":                    {maxTokens: -1, want: full, wantFinish: "stop"},
		"limit equals the answer":     {maxTokens: fullWords, want: full, wantFinish: "stop"},
		"limit above the answer":      {maxTokens: fullWords + 10, want: full, wantFinish: "stop"},
		"zero tokens":                 {maxTokens: 0, want: "", wantFinish: "length"},
		"cut inside the first line":   {maxTokens: 3, want: "Answer by retrieval", wantFinish: "length"},
		"cut at a line end":           {maxTokens: headerWords, want: llmlocal.Header, wantFinish: "length"},
		"cut inside the second line":  {maxTokens: headerWords + 2, want: llmlocal.Header + "\nNo context", wantFinish: "length"},
		"stop string":                 {maxTokens: -1, stop: []string{"nothing"}, want: llmlocal.Header + "\nNo context was given, so there was ", wantFinish: "stop"},
		"earliest of two stops":       {maxTokens: -1, stop: []string{"search", "\n"}, want: llmlocal.Header, wantFinish: "stop"},
		"stop at the very start":      {maxTokens: -1, stop: []string{"Answer"}, want: "", wantFinish: "stop"},
		"empty stop string is unused": {maxTokens: -1, stop: []string{""}, want: full, wantFinish: "stop"},
		"stop, then limit":            {maxTokens: headerWords + 1, stop: []string{"so there"}, want: llmlocal.Header + "\nNo", wantFinish: "length"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			req := sdk.GenerateRequest{Messages: []sdk.Message{user("tea")}, Stop: tc.stop}
			if tc.maxTokens >= 0 {
				req.MaxTokens = &tc.maxTokens
			}
			var got strings.Builder
			res, err := configured(t, nil).Generate(context.Background(), req, func(d string) error { got.WriteString(d); return nil })
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			if got.String() != tc.want {
				t.Errorf("answer:\nwant %q\ngot  %q", tc.want, got.String())
			}
			if res.FinishReason != tc.wantFinish || res.CompletionTokens != len(strings.Fields(tc.want)) {
				t.Errorf("want finish %q and %d completion tokens, got %+v", tc.wantFinish, len(strings.Fields(tc.want)), res)
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	t.Parallel()
	errClosed := errors.New("the window was closed")
	broken := sdk.Message{Role: sdk.RoleSystem, Content: "--- CONTEXTUAL DATA ---\n<CONTEXT source=\"peer\" name=\"Carol\" node_id=\"" + carolID + "\">\n{}\n"}
	tests := map[string]struct {
		model    string
		messages []sdk.Message
		emit     func(string) error
		want     error
		wantText string
	}{
		"unknown model":        {model: "gpt-5", want: sdk.ErrNotFound, wantText: `model "gpt-5"`},
		"malformed context":    {messages: []sdk.Message{user("hi"), broken}, want: sdk.ErrInvalidArgument, wantText: "message 2"},
		"emit fails":           {emit: func(string) error { return errClosed }, want: errClosed},
		"emit fails at line 2": {emit: failAfter(1, errClosed), want: errClosed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			emit := tc.emit
			if emit == nil {
				emit = func(string) error { return nil }
			}
			msgs := tc.messages
			if msgs == nil {
				msgs = []sdk.Message{user("x y")}
			}
			_, err := configured(t, nil).Generate(context.Background(), sdk.GenerateRequest{Model: tc.model, Messages: msgs}, emit)
			if !errors.Is(err, tc.want) {
				t.Fatalf("want errors.Is(err, %v), got %v", tc.want, err)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("want the error to contain %q, got %q", tc.wantText, err.Error())
			}
		})
	}
}

func failAfter(n int, err error) func(string) error {
	return func(string) error {
		if n == 0 {
			return err
		}
		n--
		return nil
	}
}

// direct configures a Plugin without gRPC, for what the wire cannot carry
// (a negative MaxTokens) or hides (exactly when the plugin stops).
func direct(t *testing.T, log hclog.Logger) *llmlocal.Plugin {
	t.Helper()
	p := &llmlocal.Plugin{}
	if err := p.Configure(context.Background(), sdk.ConfigureRequest{Config: llmlocal.DefaultConfig(), Logger: log}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return p
}

func TestNegativeMaxTokens(t *testing.T) {
	t.Parallel()
	n := -1
	_, err := direct(t, nil).Generate(context.Background(), sdk.GenerateRequest{MaxTokens: &n}, func(string) error { return nil })
	if !errors.Is(err, sdk.ErrInvalidArgument) {
		t.Errorf("want sdk.ErrInvalidArgument, got %v", err)
	}
}

func TestCancelStopsGeneration(t *testing.T) {
	t.Parallel()
	msgs := []sdk.Message{system(t, alice(t), carol(t)), user("pasta water while hiking")}
	t.Run("in process: no line after the cancel", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var deltas []string
		_, err := direct(t, nil).Generate(ctx, sdk.GenerateRequest{Messages: msgs},
			func(d string) error { deltas = append(deltas, d); cancel(); return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("want context.Canceled, got %v", err)
		}
		if len(deltas) != 1 {
			t.Errorf("want 1 delta before the cancel was noticed, got %q", deltas)
		}
	})
	// Over gRPC, a cancel from inside emit races with deltas already on the
	// wire, so only a context cancelled up front has a certain outcome.
	t.Run("over gRPC: cancelled before the call", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		emitted := false
		_, err := configured(t, nil).Generate(ctx, sdk.GenerateRequest{Messages: msgs},
			func(string) error { emitted = true; return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("want context.Canceled, got %v", err)
		}
		if emitted {
			t.Errorf("want nothing emitted")
		}
	})
}

// TestLogsHoldNoPromptText checks that even at trace level, the plugin logs
// sizes, not the user's words.
func TestLogsHoldNoPromptText(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Trace, JSONFormat: true})
	secret := peer(t, "Zed", bobID, `{"knowledge": {"plans": {"entries": [{"content": "surprise party for Quentin"}]}}}`)
	res, err := direct(t, log).Generate(context.Background(),
		sdk.GenerateRequest{Messages: []sdk.Message{system(t, secret), user("Quentin party?")}, RequestID: "req-42"},
		func(string) error { return nil })
	if err != nil || res.FinishReason != "stop" {
		t.Fatalf("want a finished answer, got %+v, %v", res, err)
	}
	out := buf.String()
	for _, want := range []string{`"@message":"configured"`, `"max_results":3`, `"@message":"answered"`, `"request_id":"req-42"`, `"context_blocks":1`} {
		if !strings.Contains(out, want) {
			t.Errorf("want the log to contain %s, got\n%s", want, out)
		}
	}
	for _, secret := range []string{"Quentin", "surprise", "Zed"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log leaks %q:\n%s", secret, out)
		}
	}
}

func TestListModels(t *testing.T) {
	t.Parallel()
	models, err := configured(t, nil).ListModels(context.Background())
	if err != nil {
		t.Fatalf("want no error, got %v", err)
	}
	if len(models) != 1 || models[0].ID != llmlocal.ModelID || strings.Join(models[0].Labels, ",") != "local,retrieval" {
		t.Errorf("want one model %q labelled local, retrieval, got %+v", llmlocal.ModelID, models)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		config   any
		wantPath string
		wantText string
	}{
		"defaults":                 {config: json.RawMessage(`{}`)},
		"lowest":                   {config: json.RawMessage(`{"max_results": 1}`)},
		"highest":                  {config: &llmlocal.Config{MaxResults: llmlocal.MaxMaxResults}},
		"zero":                     {config: json.RawMessage(`{"max_results": 0}`), wantPath: "max_results", wantText: "between 1 and 50, got 0"},
		"too many":                 {config: json.RawMessage(`{"max_results": 51}`), wantPath: "max_results", wantText: "between 1 and 50, got 51"},
		"negative, as a struct":    {config: &llmlocal.Config{MaxResults: -3}, wantPath: "max_results", wantText: "between 1 and 50"},
		"a string":                 {config: json.RawMessage(`{"max_results": "3"}`), wantPath: "max_results", wantText: "want a whole number"},
		"unknown attribute":        {config: json.RawMessage(`{"model": "retrieval"}`), wantPath: "model", wantText: "unknown attribute"},
		"a fraction is not a size": {config: json.RawMessage(`{"max_results": 2.5}`), wantPath: "max_results", wantText: "whole number"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := sdktest.New(t, &llmlocal.Plugin{}).Configure(t, tc.config)
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
	_, err := (&llmlocal.Plugin{}).Generate(context.Background(), sdk.GenerateRequest{}, func(string) error { return nil })
	if !errors.Is(err, sdk.ErrNotConfigured) {
		t.Errorf("want sdk.ErrNotConfigured, got %v", err)
	}
}
