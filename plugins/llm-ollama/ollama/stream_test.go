package ollama

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dpc-go/dpc/sdk/llmhttp"
)

// FuzzAnswerLine feeds arbitrary lines to the chunk decoder: it must not
// panic, must pass on exactly the message content of a valid line, must
// report a done line with a finish reason and non-negative usage, and must
// fail only with a protocol or server error.
func FuzzAnswerLine(f *testing.F) {
	for _, name := range []string{"chat_stream.ndjson", "chat_length.ndjson", "chat_error.ndjson", "chat_garbage.ndjson"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Add([]byte(`{"done":true,"prompt_eval_count":-5,"eval_count":-1}`))
	f.Add([]byte(`{"message":{"content":7}}`))
	f.Add([]byte(`{"message":null,"done":"yes"}`))
	f.Add([]byte(`{"error":""}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		a := &answer{client: llmhttp.New(llmhttp.Options{Name: Name, BaseURL: "http://127.0.0.1:11434"}), model: "llama3"}
		delta, err := a.add(line)
		if err != nil {
			if !errors.Is(err, llmhttp.ErrProtocol) && !errors.Is(err, llmhttp.ErrServer) {
				t.Fatalf("want a protocol or server error, got %v", err)
			}
			if delta != "" || a.done {
				t.Fatalf("an error must come alone, got delta %q done %v", delta, a.done)
			}
			return
		}
		var v struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		}
		if json.Unmarshal(line, &v) != nil {
			t.Fatalf("accepted a line that is not a chat chunk: %q", line)
		}
		if delta != v.Message.Content {
			t.Fatalf("want delta %q, got %q", v.Message.Content, delta)
		}
		if a.done {
			r := a.result
			if r.FinishReason == "" || r.Model == "" || r.PromptTokens < 0 || r.CompletionTokens < 0 {
				t.Fatalf("done line gave an incomplete result %+v", r)
			}
		}
	})
}
