// Command dpc-plugin-transport-direct is D-PC's first-party transport
// plugin: it carries the host's peer connections over plain TCP. The host
// starts it; run by hand, it only prints its version (--version).
package main

import (
	"github.com/dpc-go/dpc/plugins/transport-direct/direct"
	"github.com/dpc-go/dpc/sdk"
)

func main() {
	sdk.Serve(&sdk.ServeOpts{Transport: &direct.Plugin{}})
}
