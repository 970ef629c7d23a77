package openai

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
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

// FuzzChunk feeds arbitrary events to the chunk decoder: besides what
// llmhttptest.CheckAdd checks of every decoder (no panic, only
// *llmhttp.Error failures, non-negative usage), it must pass on exactly
// the first choice's content and refusal.
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
		delta, err := llmhttptest.CheckAdd(t, a, llmhttp.Event{Type: typ, Data: data})
		if err != nil {
			return
		}
		if data == doneMarker {
			if !a.Done(false) || delta != "" {
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
		// Beyond CheckAdd: the result has a finish reason even before the
		// end, "stop" by default.
		if r := a.Result(); r.FinishReason == "" {
			t.Fatalf("no finish reason in %+v", r)
		}
	})
}
