// Command dpc-plugin-fixture-llm serves the test fixture model.
package main

import (
	"github.com/dpc-go/dpc/host/internal/fixtureplugin"
	"github.com/dpc-go/dpc/sdk"
)

func main() { sdk.Serve(&sdk.ServeOpts{LLM: fixtureplugin.LLM{}}) }
