// Command dpc-plugin-llm-anthropic is D-PC's first-party LLM plugin for
// Anthropic's Claude models: it lists the models of the Anthropic API and
// streams answers from its Messages API.
//
// dpc starts this binary itself (it finds it as
// $DPC_HOME/plugins/dpc-plugin-llm-anthropic); run by hand, it only prints its version
// (--version, answered by sdk.Serve).
package main

import (
	"github.com/dpc-go/dpc/plugins/llm-anthropic/anthropic"
	"github.com/dpc-go/dpc/sdk"
)

func main() {
	sdk.Serve(&sdk.ServeOpts{LLM: &anthropic.Plugin{}})
}
