// Command dpc-plugin-hub-dpc is D-PC's first-party hub connector: it logs the
// node in to a dpc-hub with the node key (signed by the host), publishes its
// profile, looks peers up and carries the signaling stream. The host starts
// it; run by hand, it only prints its version (--version).
package main

import (
	"github.com/dpc-go/dpc/plugins/hub-dpc/hubdpc"
	"github.com/dpc-go/dpc/sdk"
)

func main() {
	sdk.Serve(&sdk.ServeOpts{Hub: &hubdpc.Plugin{}})
}
