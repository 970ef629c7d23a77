package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/dpc-go/dpc/host/internal/api"
	"github.com/dpc-go/dpc/host/internal/textsafe"
)

var (
	// ErrChooseProvider means the hub offers several identity providers
	// and the command named none (or one it does not offer).
	ErrChooseProvider = errors.New("choose an identity provider")
	// ErrLinkExpired means the link address expired before the account
	// showed up.
	ErrLinkExpired = errors.New("the link address expired")
)

// linkPoll is how often dpc hub link asks whether the account is linked.
const linkPoll = time.Second

const accountsHelp = `Linking attaches an account of an identity provider (GitHub, Google, a
company's single sign-on) to this node on the hub: an extra fact about the
node that the hub can show or require. The node still logs in with its
key; the hub never gets a password, and a linked account never replaces
the key. A hub started with --require-oauth lists and relays only nodes
with a linked account: until one is linked, dpc hub status says so.`

func newHubAccountCmds(g *globals) []*cobra.Command {
	return []*cobra.Command{newHubLinkCmd(g), newHubAccountsCmd(g), newHubUnlinkCmd(g)}
}

func newHubLinkCmd(g *globals) *cobra.Command {
	var noWait bool
	cmd := &cobra.Command{
		Use:   "link [PROVIDER]",
		Short: "Link an account of an identity provider (GitHub, Google, SSO) to this node on the hub",
		Long: accountsHelp + `

dpc hub link asks the hub for a single-use address, prints it, and waits
until you have signed in there with the provider (at most until the
address expires; Ctrl-C stops waiting, the address stays valid). With no
PROVIDER, the hub's only provider is used; dpc hub accounts lists them.
Needs dpc hub login.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var before api.HubAccounts
			if err := c.Get(ctx, "/v1/hub/accounts", &before); err != nil {
				return err
			}
			want := ""
			if len(args) == 1 {
				want = args[0]
			}
			prov, err := chooseProvider(before.Providers, want)
			if err != nil {
				return err
			}
			var node api.NodeInfo
			if err := c.Get(ctx, "/v1/node", &node); err != nil {
				return err
			}
			var link api.HubLink
			if err := c.Post(ctx, "/v1/hub/link", api.HubLinkRequest{Provider: prov.Name}, &link); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Open this address in your browser to link your %s account to node %s; it expires at %s:\n\n  %s\n\n",
				textsafe.Line(prov.DisplayName), node.NodeID, link.Expires.Local().Format(time.DateTime), textsafe.Line(link.URL))
			if noWait {
				fmt.Fprintln(out, "dpc hub accounts shows the account once you have signed in.")
				return nil
			}
			// Ctrl-C ends the wait, not the command with a signal.
			wctx, stop := signal.NotifyContext(ctx, os.Interrupt)
			defer stop()
			acc, err := waitLinked(wctx, c, prov.Name, before.Accounts, link.Expires, cmd.ErrOrStderr())
			if err != nil {
				if wctx.Err() != nil {
					fmt.Fprintf(out, "Stopped waiting. The address stays valid until %s; dpc hub accounts shows whether the account was linked.\n",
						link.Expires.Local().Format(time.DateTime))
					return nil
				}
				return err
			}
			fmt.Fprintf(out, "linked: %s %s %s\n", textsafe.Line(acc.Provider), textsafe.Line(acc.Subject), textsafe.Line(acc.Email))
			if before.Required && len(before.Accounts) == 0 {
				// The hub refused the profile dpc hub login published; it
				// takes it now.
				if err := c.Post(ctx, "/v1/hub/profile", struct{}{}, &api.HubProfile{}); err != nil {
					return fmt.Errorf("the account is linked, but publishing the profile failed (run dpc profile publish): %w", err)
				}
				fmt.Fprintln(out, "The hub now accepts this node: published its profile; it shows online once it reconnects (dpc hub status).")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "print the address and return without waiting for the sign-in")
	return cmd
}

// chooseProvider picks want among the hub's providers, or the only one
// when want is empty.
func chooseProvider(provs []api.HubProvider, want string) (api.HubProvider, error) {
	list := func() string {
		parts := make([]string, len(provs))
		for i, p := range provs {
			parts[i] = textsafe.Line(p.Name)
			if p.DisplayName != "" && p.DisplayName != p.Name {
				parts[i] += " (" + textsafe.Line(p.DisplayName) + ")"
			}
		}
		return strings.Join(parts, ", ")
	}
	switch {
	case len(provs) == 0:
		return api.HubProvider{}, fmt.Errorf("%w: the hub offers no identity provider to link", ErrChooseProvider)
	case want == "" && len(provs) == 1:
		return provs[0], nil
	case want == "":
		return api.HubProvider{}, fmt.Errorf("%w: the hub offers %s; run dpc hub link PROVIDER with one of them", ErrChooseProvider, list())
	}
	for _, p := range provs {
		if p.Name == want {
			return p, nil
		}
	}
	return api.HubProvider{}, fmt.Errorf("%w: the hub does not offer %q; it offers %s", ErrChooseProvider, textsafe.Line(want), list())
}

// waitLinked polls the node until an account of provider shows up that was
// not linked before (or was linked again), until the address expires or
// ctx ends. A spinner shows on a terminal only.
func waitLinked(ctx context.Context, c *api.Client, provider string, before []api.HubAccount, expires time.Time, progress io.Writer) (api.HubAccount, error) {
	was := map[string]time.Time{}
	for _, a := range before {
		if a.Provider == provider {
			was[a.Subject] = a.LinkedAt
		}
	}
	var bar *progressbar.ProgressBar
	if isTerminal(progress) {
		bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(progress), progressbar.OptionSpinnerType(14),
			progressbar.OptionSetDescription("waiting for the sign-in in your browser"), progressbar.OptionClearOnFinish())
		defer func() { _ = bar.Finish() }()
	}
	deadline := time.NewTimer(time.Until(expires))
	defer deadline.Stop()
	tick := time.NewTicker(linkPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return api.HubAccount{}, ctx.Err()
		case <-deadline.C:
			return api.HubAccount{}, fmt.Errorf("%w at %s before the account was linked: run dpc hub link again", ErrLinkExpired, expires.Local().Format(time.DateTime))
		case <-tick.C:
		}
		if bar != nil {
			_ = bar.Add(1)
		}
		var now api.HubAccounts
		if err := c.Get(ctx, "/v1/hub/accounts", &now); err != nil {
			if ctx.Err() != nil {
				return api.HubAccount{}, ctx.Err()
			}
			return api.HubAccount{}, fmt.Errorf("asking the node whether the account is linked: %w", err)
		}
		for _, a := range now.Accounts {
			if t, ok := was[a.Subject]; a.Provider == provider && (!ok || a.LinkedAt.After(t)) {
				return a, nil
			}
		}
	}
}

func newHubAccountsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "accounts",
		Short: "List the accounts linked to this node on the hub, and the providers it offers",
		Long:  accountsHelp + "\n\nNeeds dpc hub login.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var res api.HubAccounts
			if err := c.Get(cmd.Context(), "/v1/hub/accounts", &res); err != nil {
				return err
			}
			if asJSON {
				res.Providers, res.Accounts = nonNil(res.Providers), nonNil(res.Accounts)
				return printJSON(cmd.OutOrStdout(), res)
			}
			printHubAccounts(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the accounts as JSON")
	return cmd
}

func printHubAccounts(w io.Writer, res api.HubAccounts) {
	switch {
	case res.Required && len(res.Accounts) == 0:
		fmt.Fprintln(w, "required   yes, and none is linked: run dpc hub link PROVIDER")
	case res.Required:
		fmt.Fprintln(w, "required   yes")
	default:
		fmt.Fprintln(w, "required   no")
	}
	if len(res.Accounts) == 0 {
		fmt.Fprintln(w, "linked     none")
	}
	for _, a := range res.Accounts {
		line := textsafe.Line(a.Provider) + " " + textsafe.Line(a.Subject)
		if a.Email != "" {
			line += " " + textsafe.Line(a.Email)
		}
		if a.Name != "" {
			line += " (" + textsafe.Line(a.Name) + ")"
		}
		if !a.LinkedAt.IsZero() {
			line += ", since " + a.LinkedAt.Local().Format(time.DateTime)
		}
		fmt.Fprintf(w, "linked     %s\n", line)
	}
	if len(res.Providers) == 0 {
		fmt.Fprintln(w, "providers  none offered")
	}
	for _, p := range res.Providers {
		fmt.Fprintf(w, "provider   %s  %s (%s)\n", textsafe.Line(p.Name), textsafe.Line(p.DisplayName), textsafe.Line(p.Kind))
	}
}

func newHubUnlinkCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "unlink PROVIDER",
		Short: "Unlink this node's account of PROVIDER on the hub",
		Long: `unlink removes the link between this node and its account of PROVIDER on
the hub. On a hub that requires a linked account, the node is refused
again until another one is linked. Needs dpc hub login.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.Delete(cmd.Context(), "/v1/hub/accounts/"+url.PathEscape(args[0])); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "unlinked: %s\n", textsafe.Line(args[0]))
			return nil
		},
	}
}
