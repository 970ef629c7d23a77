package anthropic

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/dpc-go/dpc/sdk/llmhttp"
	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
)

// FuzzStreamEvent feeds arbitrary events to the decoder: besides what
// llmhttptest.CheckAdd checks of every decoder (no panic, only
// *llmhttp.Error failures, non-negative token counts), it must pass on
// text only from text blocks and text deltas.
func FuzzStreamEvent(f *testing.F) {
	for _, name := range []string{"messages_stream.sse", "messages_max_tokens.sse", "messages_overloaded.sse"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		r := llmhttp.NewSSEReader(bytes.NewReader(data), 0)
		for {
			ev, err := r.Next()
			if err != nil {
				break
			}
			f.Add(ev.Type, ev.Data)
		}
	}
	f.Add("", `{"type":"content_block_delta","delta":{"type":"text_delta","text":"typed in the data only"}}`)
	f.Add("message_delta", `{"type":"message_delta","delta":{"stop_reason":"refusal"},"usage":{"output_tokens":-3,"input_tokens":-9}}`)
	f.Add("content_block_delta", `{"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}`)
	f.Add("error", `{"type":"error"}`)
	f.Add("message_start", `{"message":null}`)
	f.Fuzz(func(t *testing.T, typ, data string) {
		a := &answer{client: llmhttp.New(llmhttp.Options{Name: Name, BaseURL: "https://api.anthropic.com"}), model: "m"}
		delta, err := llmhttptest.CheckAdd(t, a, llmhttp.Event{Type: typ, Data: data})
		if err != nil {
			return
		}
		var e struct {
			Type         string `json:"type"`
			ContentBlock *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"content_block"`
			Delta *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"delta"`
		}
		if json.Unmarshal([]byte(data), &e) != nil {
			t.Fatalf("accepted an event that is not JSON: %q", data)
		}
		if typ == "" {
			typ = e.Type
		}
		want := ""
		switch {
		case typ == "content_block_start" && e.ContentBlock != nil && e.ContentBlock.Type == "text":
			want = e.ContentBlock.Text
		case typ == "content_block_delta" && e.Delta != nil && e.Delta.Type == "text_delta":
			want = e.Delta.Text
		}
		if delta != want {
			t.Fatalf("event %q %q: want delta %q, got %q", typ, data, want, delta)
		}
		// Beyond CheckAdd: the result has a finish reason even before the
		// end, "stop" by default.
		if r := a.Result(); r.FinishReason == "" {
			t.Fatalf("no finish reason in %+v", r)
		}
	})
}
