// Command dpc-plugin-llm-ollama is D-PC's first-party LLM plugin for
// Ollama (https://ollama.com): it lists the models of an Ollama server and
// streams answers from its chat API.
//
// dpc starts this binary itself (it finds it as
// $DPC_HOME/plugins/dpc-plugin-llm-ollama); run by hand, it only prints its version
// (--version, answered by sdk.Serve).
package main

import (
	"github.com/dpc-go/dpc/plugins/llm-ollama/ollama"
	"github.com/dpc-go/dpc/sdk"
)

func main() {
	sdk.Serve(&sdk.ServeOpts{LLM: &ollama.Plugin{}})
}
