// Command dpc-plugin-llm-echo is an example D-PC LLM plugin, written only
// against the SDK the way a third party would write one. It "answers" by
// streaming the last user message back, word by word.
//
// dpc starts this binary itself (it finds it as
// $DPC_HOME/plugins/dpc-plugin-llm-echo); run by hand, it only prints its version
// (--version, answered by sdk.Serve).
package main

import (
	"github.com/dpc-go/dpc/examples/llm-echo/echo"
	"github.com/dpc-go/dpc/sdk"
)

func main() {
	sdk.Serve(&sdk.ServeOpts{LLM: &echo.Plugin{}})
}
