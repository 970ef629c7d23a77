// Package anthropic is the llm-anthropic plugin: an sdk.LLM backed by
// Anthropic's Messages API (Claude). Start with Plugin, then Config for its
// `config {}` block.
//
// ListModels is GET /v1/models, page by page. Generate is POST
// /v1/messages with "stream": true. System messages go into the request's
// "system" field, joined by blank lines; the rest stay in "messages". The
// answer comes as server-sent events: message_start (with the prompt's
// token count), content_block_start, content_block_delta (text_delta
// pieces of the answer), content_block_stop, message_delta (stop reason
// and output token count), message_stop; ping events keep the connection
// alive, and an error event (overloaded_error, say) ends the answer.
//
// Every request carries the API key in x-api-key and anthropic-version:
// 2023-06-01. The key is required, and never logged. The HTTP work
// (timeouts, errors, stream reading) is package
// github.com/dpc-go/dpc/sdk/llmhttp.
package anthropic
