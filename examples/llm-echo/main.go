// Command dpc-plugin-llm-echo is an example D-PC LLM plugin, written only
// against the SDK the way a third party would write one. It "answers" by
// streaming the last user message back, word by word.
//
// dpc starts this binary itself (it finds it as
// $DPC_HOME/plugins/dpc-plugin-llm-echo); running it by hand only prints its
// version.
package main

import (
	"fmt"
	"os"

	"github.com/dpc-go/dpc/examples/llm-echo/echo"
	"github.com/dpc-go/dpc/sdk"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "dpc-plugin-llm-echo: %v\n", err)
		os.Exit(1)
	}
}

// run serves the plugin until the host stops it. The host passes no
// arguments; while serving, stdout belongs to the plugin handshake, so the
// plugin logs only through the logger it is given in Configure.
func run(args []string) error {
	switch {
	case len(args) == 1 && (args[0] == "-version" || args[0] == "--version"):
		info := (&echo.Plugin{}).Info()
		fmt.Printf("%s %s (D-PC plugin API v%d, sdk %s)\n", info.Name, info.Version, sdk.APIVersion, sdk.SDKVersion)
		return nil
	case len(args) > 0:
		return fmt.Errorf("unexpected arguments %q: this is a D-PC plugin; dpc starts it (try --version)", args)
	}
	sdk.Serve(&sdk.ServeOpts{LLM: &echo.Plugin{}})
	return nil
}
