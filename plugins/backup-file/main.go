// Command dpc-plugin-backup-file is D-PC's first-party backup plugin: it
// stores the host's encrypted backup objects as files under a directory.
// The host starts it; run by hand, it only prints its version (--version).
package main

import (
	"github.com/dpc-go/dpc/plugins/backup-file/backupfile"
	"github.com/dpc-go/dpc/sdk"
)

func main() {
	sdk.Serve(&sdk.ServeOpts{Backup: &backupfile.Plugin{}})
}
