package openai_test

import (
	"net/http"
	"testing"

	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
)

// chatRoute is where the API streams answers.
const chatRoute = "POST /v1/chat/completions"

// newFake starts a fake of the OpenAI API under /v1 (its BaseURL): GET
// /v1/models answers with testdata/models.json, POST /v1/chat/completions
// streams testdata/chat_stream.sse one event per write, flushed. With key
// set, requests without "Authorization: Bearer <key>" get OpenAI's 401.
func newFake(t testing.TB, key string) *llmhttptest.Server {
	t.Helper()
	f := llmhttptest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		llmhttptest.JSON(http.StatusNotFound, `{"error":{"message":"Invalid URL (`+r.Method+" "+r.URL.Path+
			`)","type":"invalid_request_error","param":null,"code":null}}`).ServeHTTP(w, r)
	}))
	f.BaseURL = f.URL + "/v1"
	if key != "" {
		unauthorized := llmhttptest.JSONFile(t, http.StatusUnauthorized, "testdata/error_401.json")
		f.Check(func(w http.ResponseWriter, r *http.Request) bool {
			if r.Header.Get("Authorization") != "Bearer "+key {
				unauthorized(w, r)
				return false
			}
			return true
		})
	}
	f.Handle("GET /v1/models", llmhttptest.JSONFile(t, http.StatusOK, "testdata/models.json"))
	f.Handle(chatRoute, llmhttptest.SSE.File(t, "testdata/chat_stream.sse"))
	return f
}
