// Command dpc-plugin-llm-openai is D-PC's first-party LLM plugin for the
// OpenAI API and any server that speaks it (llama.cpp's llama-server, vLLM,
// LM Studio, LocalAI, …): it lists the server's models and streams answers
// from its chat completions API.
//
// dpc starts this binary itself (it finds it as
// $DPC_HOME/plugins/dpc-plugin-llm-openai); running it by hand only prints
// its version.
package main

import (
	"fmt"
	"os"

	"github.com/dpc-go/dpc/plugins/llm-openai/openai"
	"github.com/dpc-go/dpc/sdk"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "dpc-plugin-llm-openai: %v\n", err)
		os.Exit(1)
	}
}

// run serves the plugin until the host stops it. The host passes no
// arguments; while serving, stdout belongs to the plugin handshake.
func run(args []string) error {
	switch {
	case len(args) == 1 && (args[0] == "-version" || args[0] == "--version"):
		info := (&openai.Plugin{}).Info()
		fmt.Printf("%s %s (D-PC plugin API v%d, sdk %s)\n", info.Name, info.Version, sdk.APIVersion, sdk.SDKVersion)
		return nil
	case len(args) > 0:
		return fmt.Errorf("unexpected arguments %q: this is a D-PC plugin; dpc starts it (try --version)", args)
	}
	sdk.Serve(&sdk.ServeOpts{LLM: &openai.Plugin{}})
	return nil
}
