package anthropic_test

import (
	"net/http"
	"testing"

	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
)

// messagesRoute is where the API streams answers.
const messagesRoute = "POST /v1/messages"

// newFake starts a fake of the Anthropic API: GET /v1/models pages through
// testdata/models.json and models_page2.json, POST /v1/messages streams
// testdata/messages_stream.sse one event per write, flushed. Requests
// without the right x-api-key get the API's 401, and requests without
// anthropic-version its 400.
func newFake(t testing.TB, key string) *llmhttptest.Server {
	t.Helper()
	f := llmhttptest.NewServer(t, llmhttptest.JSON(http.StatusNotFound, `{"type":"error","error":{"type":"not_found_error","message":"Not Found"}}`))
	unauthorized := llmhttptest.JSONFile(t, http.StatusUnauthorized, "testdata/error_401.json")
	noVersion := llmhttptest.JSON(http.StatusBadRequest,
		`{"type":"error","error":{"type":"invalid_request_error","message":"anthropic-version: header is required"}}`)
	f.Check(func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case r.Header.Get("X-Api-Key") != key:
			unauthorized(w, r)
		case r.Header.Get("Anthropic-Version") == "":
			noVersion(w, r)
		default:
			return true
		}
		return false
	})
	page1 := llmhttptest.JSONFile(t, http.StatusOK, "testdata/models.json")
	page2 := llmhttptest.JSONFile(t, http.StatusOK, "testdata/models_page2.json")
	f.Handle("GET /v1/models", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("after_id") == "claude-opus-4-1-20250805" {
			page2(w, r)
			return
		}
		page1(w, r)
	}))
	f.Handle(messagesRoute, llmhttptest.SSE.File(t, "testdata/messages_stream.sse"))
	return f
}
