package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/config"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/personal"
)

func newInitCmd(g *globals) *cobra.Command {
	var keyType, name string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create this node's identity and a starting dpc.hcl",
		Long: `init creates the node key (Ed25519, or RSA-2048 with --key rsa for nodes that
must talk to D-PC Messenger nodes), its self-signed certificate and the X25519
envelope key, and writes a commented dpc.hcl, firewall.hcl (what peers may
do: nothing but messages and files from contacts) and personal.json (your
personal context, for dpc ask and for what you choose to share; see dpc
context). It never overwrites an existing identity or file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := g.dir()
			if err != nil {
				return err
			}
			kt := identity.KeyType(keyType)
			if kt != identity.KeyEd25519 && kt != identity.KeyRSA {
				return fmt.Errorf("--key %q: want ed25519 or rsa", keyType)
			}
			if err := os.MkdirAll(d.String(), 0o700); err != nil {
				return fmt.Errorf("creating %s: %w", d, err)
			}
			id, err := identity.Create(d.Identity(), kt)
			if errors.Is(err, identity.ErrIdentityExists) {
				return fmt.Errorf("%s already has an identity (%w); `dpc --home %s id` shows it", d, err, d)
			}
			if err != nil {
				return err
			}
			wrote := false
			if _, err := os.Stat(d.Config()); errors.Is(err, os.ErrNotExist) {
				if err := os.WriteFile(d.Config(), config.DefaultFileContent(name), 0o644); err != nil {
					return fmt.Errorf("writing %s: %w", d.Config(), err)
				}
				wrote = true
			}
			if _, err := os.Stat(d.Firewall()); errors.Is(err, os.ErrNotExist) {
				if err := os.WriteFile(d.Firewall(), []byte(firewall.DefaultFile), 0o600); err != nil {
					return fmt.Errorf("writing %s: %w", d.Firewall(), err)
				}
			}
			if _, err := os.Stat(d.Personal()); errors.Is(err, os.ErrNotExist) {
				if err := os.WriteFile(d.Personal(), personal.Default(name, time.Now()), 0o600); err != nil {
					return fmt.Errorf("writing %s: %w", d.Personal(), err)
				}
			}
			if err := os.MkdirAll(d.Plugins(), 0o700); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Initialized %s\n\n", d)
			fmt.Fprintf(out, "  node_id      %s\n  key          %s\n  fingerprint  %s\n\n", id.NodeID, id.KeyType, id.Fingerprint())
			if wrote {
				fmt.Fprintf(out, "Wrote %s.\n", d.Config())
			}
			fmt.Fprintf(out, "Next: review the plugins in %s (or next to the dpc binary),\n"+
				"pin them with `dpc --home %s plugin lock`, then `dpc --home %s run`.\n", d.Plugins(), d, d)
			return nil
		},
	}
	cmd.Flags().StringVar(&keyType, "key", string(identity.KeyEd25519), "key type: ed25519 or rsa (RSA-2048, for D-PC Messenger compatibility)")
	cmd.Flags().StringVar(&name, "name", "", "display name written into dpc.hcl")
	return cmd
}
