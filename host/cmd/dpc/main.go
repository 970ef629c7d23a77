// Command dpc is the D-PC node: `dpc init`, `dpc run`, `dpc plugin …`.
package main

import (
	"os"

	"github.com/dpc-go/dpc/host/internal/cli"
)

func main() { os.Exit(cli.Execute()) }
