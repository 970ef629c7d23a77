// Command dpc-plugin-fixture serves the test fixture plugin.
package main

import (
	"github.com/dpc-go/dpc/host/internal/fixtureplugin"
	"github.com/dpc-go/dpc/sdk"
)

func main() { sdk.Serve(&sdk.ServeOpts{Backup: &fixtureplugin.Plugin{}}) }
