// Command dpc-plugin-llm-local is D-PC's embedded default LLM plugin. It runs
// no language model: its model "retrieval" answers with the entries of the
// context in the prompt that best match the question, so a fresh install
// answers out of the box.
//
// dpc starts this binary itself (it finds it as
// $DPC_HOME/plugins/dpc-plugin-llm-local); run by hand, it only prints its version
// (--version, answered by sdk.Serve).
package main

import (
	"github.com/dpc-go/dpc/plugins/llm-local/llmlocal"
	"github.com/dpc-go/dpc/sdk"
)

func main() {
	sdk.Serve(&sdk.ServeOpts{LLM: &llmlocal.Plugin{}})
}
