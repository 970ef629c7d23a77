// Command dpc-plugin-llm-local is D-PC's embedded default LLM plugin. It runs
// no language model: its model "retrieval" answers with the entries of the
// context in the prompt that best match the question, so a fresh install
// answers out of the box.
//
// dpc starts this binary itself (it finds it as
// $DPC_HOME/plugins/dpc-plugin-llm-local); running it by hand only prints
// its version.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/dpc-go/dpc/plugins/llm-local/llmlocal"
	"github.com/dpc-go/dpc/sdk"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "dpc-plugin-llm-local: %v\n", err)
		os.Exit(1)
	}
}

// run serves the plugin until the host stops it. The host passes no
// arguments; while serving, stdout belongs to the plugin handshake, so the
// plugin logs only through the logger it is given in Configure.
func run(args []string, stdout io.Writer) error {
	switch {
	case len(args) == 1 && (args[0] == "-version" || args[0] == "--version"):
		info := (&llmlocal.Plugin{}).Info()
		_, err := fmt.Fprintf(stdout, "%s %s (D-PC plugin API v%d, sdk %s)\n", info.Name, info.Version, sdk.APIVersion, sdk.SDKVersion)
		return err
	case len(args) > 0:
		return fmt.Errorf("unexpected arguments %q: this is a D-PC plugin; dpc starts it (try --version)", args)
	}
	sdk.Serve(&sdk.ServeOpts{LLM: &llmlocal.Plugin{}})
	return nil
}
