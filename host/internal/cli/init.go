package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
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
			if name == "" {
				name = askName(cmd.InOrStdin(), cmd.ErrOrStderr(), defaultName())
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
			fmt.Fprintf(out, "  node_id      %s\n  name         %s\n  key          %s\n  fingerprint  %s\n\n", id.NodeID, name, id.KeyType, id.Fingerprint())
			if wrote {
				fmt.Fprintf(out, "Wrote %s.\n", d.Config())
			}
			fmt.Fprintf(out, "Next: review the plugins in %s (or next to the dpc binary),\n"+
				"pin them with `dpc --home %s plugin lock`, then `dpc --home %s run`.\n", d.Plugins(), d, d)
			return nil
		},
	}
	cmd.Flags().StringVar(&keyType, "key", string(identity.KeyEd25519), "key type: ed25519 or rsa (RSA-2048, for D-PC Messenger compatibility)")
	cmd.Flags().StringVar(&name, "name", "", "display name peers see, written into dpc.hcl (asked for on a terminal; default: your user name)")
	return cmd
}

// defaultName is the display name init proposes: the user's name, else the
// host's, else "dpc".
func defaultName() string {
	if u, err := user.Current(); err == nil {
		if n := strings.TrimSpace(u.Username); n != "" {
			return n
		}
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "dpc"
}

// askName asks for a display name when in is a terminal; otherwise, or
// when the answer is empty, it is def.
func askName(in io.Reader, prompt io.Writer, def string) string {
	if !isTerminal(in) {
		return def
	}
	fmt.Fprintf(prompt, "Display name that peers see [%s]: ", def)
	line, _ := bufio.NewReader(in).ReadString('\n')
	if n := strings.TrimSpace(line); n != "" {
		return n
	}
	return def
}
