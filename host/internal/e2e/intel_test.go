package e2e

// Collaborative intelligence with three real nodes on loopback: Carol
// shares part of her context with a group Alice is in; Alice's model is an
// OpenAI-compatible HTTP server in this test, which records the prompt it
// gets; Bob is not in the group.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/plugins"
	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
	"github.com/dpc-go/dpc/sdk/promptctx"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// newFakeLLM is an HTTP server speaking the OpenAI chat completions wire
// format (streamed, as SSE) and Ollama's chat API (streamed, as NDJSON). It
// records every request and answers with a fixed text.
func newFakeLLM(t *testing.T, answer string) *llmhttptest.Server {
	t.Helper()
	s := llmhttptest.NewServer(t, nil)
	events := openAIStream(answer)
	s.Handle("GET /v1/models", llmhttptest.JSON(http.StatusOK, `{"object":"list","data":[{"id":"test-model","object":"model","owned_by":"test"}]}`))
	s.Handle("POST /v1/chat/completions", llmhttptest.SSE.Stream(events...))
	s.Handle("GET /api/tags", llmhttptest.JSON(http.StatusOK, `{"models":[{"name":"llama3:latest","model":"llama3:latest","size":1,"details":{"family":"llama"}}]}`))
	s.Handle("POST /api/chat", llmhttptest.NDJSON.Stream(
		fmt.Sprintf(`{"model":"llama3:latest","message":{"role":"assistant","content":%q},"done":false}`+"\n", answer),
		`{"model":"llama3:latest","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":10,"eval_count":3}`+"\n"))
	return s
}

// openAIStream is answer as the OpenAI chat completions API streams it:
// one SSE event per word, then the end of the answer and the usage.
func openAIStream(answer string) []string {
	var events []string
	for _, word := range strings.SplitAfter(answer, " ") {
		chunk, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "model": "test-model",
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": word}, "finish_reason": nil}}})
		events = append(events, "data: "+string(chunk)+"\n\n")
	}
	return append(events,
		`data: {"id":"c1","object":"chat.completion.chunk","model":"test-model","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n",
		`data: {"id":"c1","object":"chat.completion.chunk","model":"test-model","choices":[],"usage":{"prompt_tokens":42,"completion_tokens":7,"total_tokens":49}}`+"\n\n",
		"data: [DONE]\n\n")
}

// chats returns the bodies of the chat requests s received.
func chats(t *testing.T, s *llmhttptest.Server) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range s.Requests() {
		if r.Method == http.MethodPost {
			out = append(out, r.JSON(t))
		}
	}
	return out
}

// systemPrompt returns the system message of a recorded chat request.
func systemPrompt(t *testing.T, body map[string]any) string {
	t.Helper()
	msgs, _ := body["messages"].([]any)
	for _, m := range msgs {
		mm, _ := m.(map[string]any)
		if mm["role"] == "system" {
			s, _ := mm["content"].(string)
			return s
		}
	}
	t.Fatalf("no system message in %v", body)
	return ""
}

// carolContext is Carol's personal.json: some of it shared with friends.
const carolContext = `{
  "profile": {"name": "Carol", "email": "carol@example.org", "description": "cook and gardener", "core_values": ["honesty"]},
  "knowledge": {
    "cooking": {"summary": "Italian home cooking", "entries": [{"content": "Salt the pasta water like the sea", "tags": ["pasta"]}]},
    "gardening": {"summary": "tomatoes on the balcony", "entries": [{"content": "Water tomatoes at dawn", "tags": ["garden"]}]}
  },
  "preferences": {"communication_style": "direct"},
  "metadata": {"format_version": "2.0"}
}
`

func TestCollaborativeIntelligence(t *testing.T) {
	t.Parallel()
	aliceLLM := newFakeLLM(t, "Carol cooks Italian food.")
	carolOllama := newFakeLLM(t, "never used")

	carol := newPeerWith(t, "Carol", "plugin \"llm\" \"llm-local\" {}\n"+
		fmt.Sprintf("plugin \"llm\" \"llm-ollama\" {\n  config {\n    host = %q\n    model = \"llama3\"\n  }\n}\n", carolOllama.URL))
	alice := newPeerWith(t, "Alice", fmt.Sprintf("plugin \"llm\" \"llm-openai\" {\n  config {\n    base_url = %q\n    model = \"test-model\"\n  }\n}\n",
		aliceLLM.URL+"/v1"))
	bob := newPeerWith(t, "Bob", "plugin \"llm\" \"llm-local\" {}\n")

	if err := os.WriteFile(filepath.Join(carol.home, "personal.json"), []byte(carolContext), 0o600); err != nil {
		t.Fatal(err)
	}
	rules := fmt.Sprintf(`group "friends" {
  members = [%q]
}
rule "group" "contacts" {
  allow = ["messages", "files", "history"]
}
rule "group" "friends" {
  allow = ["context:profile.name", "context:knowledge.cooking.*"]
}
rule "node" %q {
  allow = ["compute", "model:retrieval"]
}
rule "scope" "default" {
  allow = ["context:*"]
}
`, alice.id, alice.id)
	if err := os.WriteFile(filepath.Join(carol.home, "firewall.hcl"), []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*peer{carol, alice, bob} {
		p.run()
	}
	contacts(t, alice, carol)
	contacts(t, bob, carol)

	t.Run("alice's prompt holds exactly what carol shares", func(t *testing.T) {
		out := alice.must("ask", "--peer", carol.id, "what does Carol like to cook?")
		for _, want := range []string{"Carol cooks Italian food.", "Sources:", "Carol (" + carol.id + ")", "knowledge.cooking", "profile.name"} {
			if !strings.Contains(out, want) {
				t.Errorf("ask output: want %q in\n%s", want, out)
			}
		}
		reqs := chats(t, aliceLLM)
		if len(reqs) != 1 {
			t.Fatalf("want 1 request at Alice's model, got %d", len(reqs))
		}
		sys := systemPrompt(t, reqs[0])
		blocks, err := promptctx.Parse(sys)
		if err != nil {
			t.Fatalf("the prompt's context does not parse: %v\n%s", err, sys)
		}
		var got map[string]any
		for _, b := range blocks {
			if b.NodeID == carol.id {
				if b.Source != promptctx.SourcePeer || b.Name != "Carol" {
					t.Errorf("carol's block: want a peer block named Carol, got %q %q", b.Source, b.Name)
				}
				got = b.Context
			}
		}
		var want map[string]any
		if err := json.Unmarshal([]byte(`{"profile":{"name":"Carol"},"knowledge":{"cooking":{"summary":"Italian home cooking",
			"entries":[{"content":"Salt the pasta water like the sea","tags":["pasta"]}]}}}`), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(normalizeJSON(t, got), want) {
			t.Errorf("carol's context in the prompt:\nwant %v\n got %v", want, got)
		}
		for _, withheld := range []string{"carol@example.org", "cook and gardener", "tomatoes", "gardening", "honesty", "direct"} {
			if strings.Contains(sys, withheld) {
				t.Errorf("the prompt holds %q, which Carol does not share", withheld)
			}
		}
	})

	t.Run("bob gets nothing and is told", func(t *testing.T) {
		out := bob.must("ask", "--peer", carol.id, "what does Carol like to cook?")
		if !strings.Contains(out, "no context from Carol ("+carol.id+"): shares none of its context with you") {
			t.Errorf("bob's ask: want it to say Carol shared nothing, got\n%s", out)
		}
		if strings.Contains(out, "Salt the pasta") || strings.Contains(out, "Italian") {
			t.Errorf("bob's answer holds Carol's context:\n%s", out)
		}
	})

	t.Run("a change reaches alice", func(t *testing.T) {
		carol.must("context", "set", "knowledge.cooking.summary", "Sicilian street food")
		deadline := time.Now().Add(60 * time.Second)
		for {
			alice.must("ask", "--peer", carol.id, "what does Carol cook now?")
			reqs := chats(t, aliceLLM)
			if strings.Contains(systemPrompt(t, reqs[len(reqs)-1]), "Sicilian street food") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("alice's prompt never got Carol's new summary; carol's log:\n%s", carol.d.stderr)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("alice runs on carol's allowed model", func(t *testing.T) {
		out := alice.must("ask", "--on", carol.id, "--model", "retrieval", "--peer", carol.id, "what does Carol cook?")
		for _, want := range []string{"will run this prompt and see your question and the context of Carol (" + carol.id + ")",
			"Answer by retrieval", "Model: llm-local/retrieval on " + carol.id} {
			if !strings.Contains(out, want) {
				t.Errorf("ask --on: want %q in\n%s", want, out)
			}
		}
	})

	t.Run("refusals are clear", func(t *testing.T) {
		out, errOut, code := alice.dpc("ask", "--on", carol.id, "--model", "llama3", "hello")
		if code == 0 || !strings.Contains(errOut, "does not let you use model \"llama3") {
			t.Errorf("alice on a model she may not use: want a refusal naming the model, got exit %d\n%s%s", code, out, errOut)
		}
		out, errOut, code = bob.dpc("ask", "--on", carol.id, "hello")
		if code == 0 || !strings.Contains(errOut, "does not let you run prompts here") {
			t.Errorf("bob on carol: want a compute refusal, got exit %d\n%s%s", code, out, errOut)
		}
		if n := len(chats(t, carolOllama)); n != 0 {
			t.Errorf("carol's refused model was called %d times", n)
		}
	})
}

// normalizeJSON turns json.Number values into float64 by a round trip, so
// that documents compare with what encoding/json decodes.
func normalizeJSON(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFreshNodeAnswersWithLLMLocal(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	n.must("init", "--name", "Dana")
	n.must("plugin", "lock")
	n.must("context", "set", "knowledge.cooking.summary", "Dana bakes sourdough bread")
	d := n.start("--listen", fmt.Sprintf("127.0.0.1:%d", sdktest.ReservePort(t)), "--api", "127.0.0.1:0")
	n.waitStatus(d, "llm/llm-local", 60*time.Second, "llm-local running", func(s plugins.Status) bool { return s.State == "running" })
	out := n.must("ask", "what bread do I bake?")
	for _, want := range []string{"Answer by retrieval", "Dana bakes sourdough bread", "Model: llm-local/retrieval on this node"} {
		if !strings.Contains(out, want) {
			t.Errorf("ask on a fresh node: want %q in\n%s", want, out)
		}
	}
}
