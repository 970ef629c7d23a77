// Package echo is the implementation of the llm-echo example plugin: an
// sdk.LLM that offers one model, "echo", whose answer is the last user
// message streamed back word by word, after a configurable prefix.
//
// Start with Plugin, then Config for its `config {}` block. The package shows
// the pieces every plugin has: Info, a config struct with defaults and a
// Validate method, Configure, Shutdown, interface guards, and tests that run
// sdktest.Conformance over real gRPC.
package echo
