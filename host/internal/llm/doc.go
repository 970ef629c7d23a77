// Package llm finds the models of the running LLM plugins and picks the one
// a question runs on.
//
// A [Registry] asks each running plugin of kind "llm" for its models, in the
// order of dpc.hcl. A model is named by its id ("llama3") or, when several
// plugins offer the same id, qualified by the plugin's name
// ("llm-ollama/llama3"); the empty name means the default: the first model
// of the first LLM plugin in dpc.hcl.
package llm
