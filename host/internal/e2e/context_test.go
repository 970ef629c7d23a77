package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestContextSetThenAskSeesTheNewValue: `dpc context set` returns only once
// the running node uses the new context, so an ask right after it is
// answered with the new value, every time, not the one before it.
func TestContextSetThenAskSeesTheNewValue(t *testing.T) {
	t.Parallel()
	model := newFakeLLM(t, "You are who you say.")
	alice := newPeerWith(t, "Alice", fmt.Sprintf("plugin \"llm\" \"llm-openai\" {\n  config {\n    base_url = %q\n    model = \"test-model\"\n  }\n}\n",
		model.URL+"/v1"))
	alice.run()
	for i := range 5 {
		name := fmt.Sprintf("Alice-the-%d", i)
		alice.must("context", "set", "profile.name", name)
		alice.must("ask", "what is my name?")
		reqs := chats(t, model)
		if len(reqs) != i+1 {
			t.Fatalf("round %d: want %d requests at the model, got %d", i, i+1, len(reqs))
		}
		if sys := systemPrompt(t, reqs[i]); !strings.Contains(sys, name) {
			t.Fatalf("round %d: set profile.name to %q, then the ask's prompt holds the old context:\n%s", i, name, sys)
		}
	}
}
