// Command dpc-plugin-llm-openai is D-PC's first-party LLM plugin for the
// OpenAI API and any server that speaks it (llama.cpp's llama-server, vLLM,
// LM Studio, LocalAI, …): it lists the server's models and streams answers
// from its chat completions API.
//
// dpc starts this binary itself (it finds it as
// $DPC_HOME/plugins/dpc-plugin-llm-openai); run by hand, it only prints its version
// (--version, answered by sdk.Serve).
package main

import (
	"github.com/dpc-go/dpc/plugins/llm-openai/openai"
	"github.com/dpc-go/dpc/sdk"
)

func main() {
	sdk.Serve(&sdk.ServeOpts{LLM: &openai.Plugin{}})
}
