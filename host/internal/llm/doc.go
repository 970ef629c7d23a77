// Package llm finds the models of the running LLM plugins and picks the one
// a question runs on.
//
// A [Registry] asks each running plugin of kind "llm" for its models, in the
// order of dpc.hcl. A model is named by its id ("llama3:latest", or
// "meta-llama/Llama-3" on an OpenAI-compatible server) or qualified by the
// plugin's name when several plugins offer the same id
// ("llm-ollama/llama3:latest"); as in Ollama, a name without a tag also
// finds the model tagged ":latest". The empty name means the default: the
// first model of the first running LLM plugin in dpc.hcl.
package llm
