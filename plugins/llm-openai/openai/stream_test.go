package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
)

func TestBuildRequestTokenLimit(t *testing.T) {
	t.Parallel()
	n := 64
	req := sdk.GenerateRequest{MaxTokens: &n, Messages: []sdk.Message{{Role: sdk.RoleUser, Content: "x"}}}
	tests := map[string]struct {
		official bool
		want     string
	}{
		"OpenAI: max_completion_tokens": {official: true, want: `"max_completion_tokens":64`},
		"compatible server: max_tokens": {official: false, want: `"max_tokens":64`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(buildRequest(req, "m", tc.official))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(tc.want)) || bytes.Count(b, []byte("max_")) != 1 {
				t.Errorf("want exactly %s, got %s", tc.want, b)
			}
		})
	}
	if !isOpenAI("https://API.openai.com/v1") || isOpenAI("https://api.openai.com.example/v1") {
		t.Errorf("isOpenAI: wrong answer for the official host or a look-alike")
	}
}

// FuzzChunk feeds arbitrary events to the chunk decoder: it must not
// panic, must pass on exactly the first choice's content and refusal,
// must keep usage non-negative, and must fail only with the kinds of
// llmhttp.
func FuzzChunk(f *testing.F) {
	for _, name := range []string{"chat_stream.sse", "chat_llamacpp.sse", "chat_error.sse"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, ev := range bytes.Split(data, []byte("\n\n")) {
			f.Add("", string(bytes.TrimPrefix(ev, []byte("data: "))))
		}
	}
	f.Add("error", `{"error":{"message":"overloaded","type":"server_error"}}`)
	f.Add("", `{"choices":[{"index":1,"delta":{"content":"not ours"}}]}`)
	f.Add("", `{"choices":[{"index":0,"delta":{"content":null,"refusal":"I can't"},"finish_reason":"content_filter"}],"usage":{"prompt_tokens":-4}}`)
	f.Add("", `{"error":null,"choices":[]}`)
	f.Add("", "[DONE]")
	f.Fuzz(func(t *testing.T, typ, data string) {
		a := &answer{client: llmhttp.New(llmhttp.Options{Name: Name, BaseURL: "http://127.0.0.1:8080/v1"}), model: "m"}
		delta, err := a.add(llmhttp.Event{Type: typ, Data: data})
		if err != nil {
			var he *llmhttp.Error
			if !errors.As(err, &he) || delta != "" {
				t.Fatalf("want an *llmhttp.Error alone, got %v with delta %q", err, delta)
			}
			return
		}
		if data == doneMarker {
			if !a.done || delta != "" {
				t.Fatalf("[DONE] must end the stream with no text")
			}
			return
		}
		var v struct {
			Choices []struct {
				Index int `json:"index"`
				Delta struct {
					Content *string `json:"content"`
					Refusal *string `json:"refusal"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal([]byte(data), &v) != nil {
			t.Fatalf("accepted an event that is not a chunk: %q", data)
		}
		want := ""
		for _, c := range v.Choices {
			if c.Index == 0 && c.Delta.Content != nil {
				want += *c.Delta.Content
			}
			if c.Index == 0 && c.Delta.Refusal != nil {
				want += *c.Delta.Refusal
			}
		}
		if delta != want {
			t.Fatalf("want delta %q, got %q", want, delta)
		}
		if r := a.result(); r.PromptTokens < 0 || r.CompletionTokens < 0 || r.FinishReason == "" {
			t.Fatalf("bad result %+v", r)
		}
	})
}
