// Command dpc-plugin-llm-anthropic is D-PC's first-party LLM plugin for
// Anthropic's Claude models: it lists the models of the Anthropic API and
// streams answers from its Messages API.
//
// dpc starts this binary itself (it finds it as
// $DPC_HOME/plugins/dpc-plugin-llm-anthropic); running it by hand only prints
// its version.
package main

import (
	"fmt"
	"os"

	"github.com/dpc-go/dpc/plugins/llm-anthropic/anthropic"
	"github.com/dpc-go/dpc/sdk"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "dpc-plugin-llm-anthropic: %v\n", err)
		os.Exit(1)
	}
}

// run serves the plugin until the host stops it. The host passes no
// arguments; while serving, stdout belongs to the plugin handshake.
func run(args []string) error {
	switch {
	case len(args) == 1 && (args[0] == "-version" || args[0] == "--version"):
		info := (&anthropic.Plugin{}).Info()
		fmt.Printf("%s %s (D-PC plugin API v%d, sdk %s)\n", info.Name, info.Version, sdk.APIVersion, sdk.SDKVersion)
		return nil
	case len(args) > 0:
		return fmt.Errorf("unexpected arguments %q: this is a D-PC plugin; dpc starts it (try --version)", args)
	}
	sdk.Serve(&sdk.ServeOpts{LLM: &anthropic.Plugin{}})
	return nil
}
