package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/network"
)

// idJSON is what `dpc id --json` prints.
type idJSON struct {
	NodeID      string `json:"node_id"`
	Name        string `json:"name,omitempty"`
	Key         string `json:"key"`
	Fingerprint string `json:"fingerprint"`
	// Running says whether the node runs; Addresses are the dpc:// URIs it
	// listens on (none when it does not run).
	Running   bool     `json:"running"`
	Addresses []string `json:"addresses"`
}

func newIDCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "id",
		Short: "Show this node's id, fingerprint and the dpc:// addresses it listens on",
		Long: `id shows the node_id and the fingerprint to compare out of band and, when
the node runs, the dpc:// URIs it actually listens on (asked from the
running node); when it does not run, it says so: no address listens then.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, cfg, err := g.load(nil, nil)
			if err != nil {
				return err
			}
			id, err := identity.Load(d.Identity())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			c, err := api.Dial(d.APISocket(), d.APIToken())
			var info api.NodeInfo
			if err == nil {
				err = c.Get(cmd.Context(), "/v1/node", &info)
			}
			if asJSON {
				if err != nil && !errors.Is(err, api.ErrNotRunning) {
					return err
				}
				return printJSON(out, idJSON{NodeID: id.NodeID, Name: cfg.Node.Name, Key: string(id.KeyType),
					Fingerprint: id.Fingerprint(), Running: err == nil, Addresses: nonNil(network.ListeningURIs(info.Listening, id.NodeID))})
			}
			fmt.Fprintf(out, "node_id      %s\n", id.NodeID)
			if cfg.Node.Name != "" {
				fmt.Fprintf(out, "name         %s\n", cfg.Node.Name)
			}
			fmt.Fprintf(out, "key          %s\n", id.KeyType)
			fmt.Fprintf(out, "fingerprint  %s\n", id.Fingerprint())
			switch {
			case errors.Is(err, api.ErrNotRunning):
				fmt.Fprintln(out, "addresses    none: the node is not running (start it with `dpc run`)")
				return nil
			case err != nil:
				return err
			}
			uris := network.ListeningURIs(info.Listening, id.NodeID)
			if len(uris) == 0 {
				fmt.Fprintln(out, "addresses    none: the node runs but no transport listens")
				return nil
			}
			fmt.Fprintln(out, "addresses    (the running node listens on)")
			for _, u := range uris {
				fmt.Fprintf(out, "  %s\n", u)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the node_id, name, key, fingerprint, whether the node runs and the addresses it listens on as a JSON object")
	return cmd
}
