// Package openai is the llm-openai plugin: an sdk.LLM backed by the OpenAI
// chat completions API, as served by OpenAI and by the many servers that
// copy it (llama.cpp's llama-server, vLLM, LM Studio, LocalAI, …). Start
// with Plugin, then Config for its `config {}` block.
//
// ListModels is GET {base_url}/models. Generate is POST
// {base_url}/chat/completions with "stream": true and
// "stream_options": {"include_usage": true}; the server answers with
// server-sent events, each `data:` a chat.completion.chunk whose
// choices[0].delta.content is the next piece of text, then a chunk with
// empty choices and the usage, then `data: [DONE]`.
//
// The API key is optional, since local servers often want none; when set
// it is sent as "Authorization: Bearer <key>" and never logged. The HTTP
// work (timeouts, errors, stream reading) is package
// github.com/dpc-go/dpc/sdk/llmhttp.
package openai
