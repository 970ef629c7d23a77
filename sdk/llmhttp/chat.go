package llmhttp

import "github.com/dpc-go/dpc/sdk"

// Message is a chat message as most chat APIs take it in a request body,
// {"role": "user", "content": "…"}: OpenAI's chat completions and the
// servers that copy it, Ollama's /api/chat, Anthropic's Messages API (for
// the turns; its system text goes elsewhere).
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Messages converts a request's messages, in order and all of them; never
// nil, so that no messages encode as [], not null.
func Messages(msgs []sdk.Message) []Message {
	out := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, Message{Role: string(m.Role), Content: m.Content})
	}
	return out
}
