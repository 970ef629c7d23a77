package ollama

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dpc-go/dpc/sdk/llmhttp"
	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
)

// FuzzAnswerLine feeds arbitrary lines to the chunk decoder: besides what
// llmhttptest.CheckAdd checks of every decoder (no panic, non-negative
// usage, a done answer with a finish reason), it must pass on exactly the
// message content of a valid line and fail only with a protocol or server
// error.
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
		delta, err := llmhttptest.CheckAdd(t, a, line)
		if err != nil {
			if !errors.Is(err, llmhttp.ErrProtocol) && !errors.Is(err, llmhttp.ErrServer) {
				t.Fatalf("want a protocol or server error, got %v", err)
			}
			if a.Done(false) {
				t.Fatalf("an error must come alone, got done with %v", err)
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
	})
}
