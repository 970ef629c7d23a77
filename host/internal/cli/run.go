package cli

import (
	"github.com/hashicorp/go-hclog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/node"
)

func newRunCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the node until SIGINT or SIGTERM",
		Long: `run starts the node: it loads the identity, opens the store, launches and
supervises every plugin enabled in dpc.hcl (each must be pinned in
dpc.lock.hcl), and serves the local API. Ctrl-C stops it cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, cfg, err := g.load(cmd.Flags(), map[string]string{"api": "api.listen", "listen": "node.listen"})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return node.Run(ctx, node.Options{
				Home: d, Config: cfg, Logger: g.logger("dpc", hclog.Info), LogLevel: g.level(hclog.Info), Version: Version,
			})
		},
	}
	cmd.Flags().String("api", "", "local API address (loopback only), overrides api.listen in dpc.hcl")
	cmd.Flags().StringSlice("listen", nil, "address(es) peers connect to, e.g. 0.0.0.0:8888 (overrides node.listen)")
	return cmd
}
