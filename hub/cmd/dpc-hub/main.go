// Command dpc-hub is the D-PC federation hub: key login, discovery,
// presence and the signaling relay. `dpc-hub --help` explains the flags.
package main

import (
	"os"

	"github.com/dpc-go/dpc/hub/internal/hubcmd"
)

func main() { os.Exit(hubcmd.Execute()) }
