package ollama_test

import (
	"net/http"
	"testing"

	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
)

// chatRoute is where Ollama streams answers.
const chatRoute = "POST /api/chat"

// newFake starts a fake Ollama: GET /api/tags answers with
// testdata/tags.json, POST /api/chat streams testdata/chat_stream.ndjson
// one line per write, flushed, like Ollama does. Ollama takes no key: key
// must be "".
func newFake(t testing.TB, key string) *llmhttptest.Server {
	t.Helper()
	if key != "" {
		t.Fatalf("Ollama takes no API key, got one")
	}
	f := llmhttptest.NewServer(t, nil)
	f.Handle("GET /api/tags", llmhttptest.JSONFile(t, http.StatusOK, "testdata/tags.json"))
	f.Handle(chatRoute, llmhttptest.NDJSON.File(t, "testdata/chat_stream.ndjson"))
	return f
}
