// Package ollama is the llm-ollama plugin: an sdk.LLM backed by an Ollama
// server's HTTP API. Start with Plugin, then Config for its `config {}`
// block.
//
// ListModels is GET /api/tags. Generate is POST /api/chat with
// "stream": true; Ollama answers with newline-delimited JSON, one object
// per piece of text, and a last object with "done": true, the finish
// reason and the token counts ("prompt_eval_count", "eval_count"). An
// object with an "error" field ends the answer with that error.
//
// The HTTP work (timeouts, errors, stream reading) is package
// github.com/dpc-go/dpc/sdk/llmhttp. Ollama takes no API key; the plugin
// never logs prompts or answers, only their sizes, at Debug level.
package ollama
